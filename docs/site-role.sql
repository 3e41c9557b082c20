-- The role the site connects as: it owns nothing, may TRUNCATE nothing, and may only read and add
-- to the audit log. Run once as the database's owner (the role that runs `manage.py migrate`),
-- in the site's database, after the first migrate; see README "The site's database role".
--   psql "$OWNER_DATABASE_URL" -v ON_ERROR_STOP=1 -f docs/site-role.sql
--   psql "$OWNER_DATABASE_URL" -c "ALTER ROLE qingka_site PASSWORD '…'"
CREATE ROLE qingka_site LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO qingka_site;
-- Rows only: no TRUNCATE, no REFERENCES, no TRIGGER, and no table of its own.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO qingka_site;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO qingka_site;
-- The same for the tables later migrations create (made by the owner, who runs this).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO qingka_site;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO qingka_site;
-- The audit log: read and append, nothing else.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent FROM qingka_site;
