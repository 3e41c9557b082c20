"""Who may do what. 管理员: everything. 会计: their assigned clients — view, run jobs, record
filed returns. 只读: view. Pages and API both ask these functions."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import permissions


def is_firm_admin(user) -> bool:
    return user.is_authenticated and user.is_firm_admin


def sees_all_clients(user) -> bool:
    """管理员 and 只读 see every client; a 会计 only their own; nobody else any."""
    return user.is_authenticated and (user.is_firm_admin or user.role != user.Role.ACCOUNTANT)


def restrict(queryset, user, client_path: str = ""):
    """`queryset` cut down to the rows of the clients `user` may see (NetBox's restrict()):
    `client_path` leads from its model to the client ("" for Client, "client__" for audit events,
    "device__client__" for jobs). Every list, page, export and API asks this one rule."""
    if not user.is_authenticated:
        return queryset.none()
    if sees_all_clients(user):
        return queryset
    return queryset.filter(**{f"{client_path}staff": user})


def can_view_client(user, client) -> bool:
    return sees_all_clients(user) or (user.is_authenticated and client.staff_id == user.pk)


def can_operate_client(user, client) -> bool:
    """Run jobs and record returns for this client."""
    if not user.is_authenticated:
        return False
    return user.is_firm_admin or (user.role == user.Role.ACCOUNTANT and client.staff_id == user.pk)


def can_record_returns(user) -> bool:
    """管理员 and 会计 record filed returns (each 会计 for their own clients)."""
    return user.is_authenticated and (user.is_firm_admin or user.role == user.Role.ACCOUNTANT)


def client_for_operation(user, client):
    """A client the user may not see does not exist for them (404); one they may see but not
    operate on is forbidden (403)."""
    if not can_view_client(user, client):
        raise Http404
    if not can_operate_client(user, client):
        raise PermissionDenied
    return client


def require_firm_admin(user) -> None:
    if not is_firm_admin(user):
        raise PermissionDenied


class FirmAdminOnly(permissions.BasePermission):
    """管理员 only, reading too (imports and their template)."""

    def has_permission(self, request, view):
        return is_firm_admin(request.user)


class FirmAdminWrites(permissions.BasePermission):
    """Everyone signed in reads (within what they may see); only 管理员 create and change."""

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_firm_admin


class OperatorWrites(permissions.BasePermission):
    """Everyone signed in reads; 管理员 and 会计 act (on the clients they may operate on)."""

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or can_record_returns(request.user)
