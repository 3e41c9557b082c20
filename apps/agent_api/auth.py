"""Agents authenticate with `Authorization: Agent <token>`; the site keeps only the token's hash."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions

from apps.core.tokens import hash_token
from apps.devices.models import Agent


class AgentPrincipal:
    """Stands in for request.user on agent calls; request.auth is the Agent."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, agent: Agent):
        self.agent = agent

    def __str__(self):
        return f"前置机 {self.agent.name}"


class AgentTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Agent"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("前置机令牌格式不正确"))
        token = hash_token(parts[1].decode(errors="replace"))
        try:  # get(), not first(): its ORDER BY made every agent call's lookup a quarter dearer
            agent = Agent.objects.get(token_hash=token, enabled=True)
        except Agent.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("前置机令牌无效或前置机已停用")) from None
        return AgentPrincipal(agent), agent

    def authenticate_header(self, request):
        return self.keyword


class IsAgent(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, Agent)
