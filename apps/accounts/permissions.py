"""Who may do what. 管理员: everything. 会计: their assigned clients — view, run jobs, record
filed returns. 只读: view. Pages and API both ask these functions."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import permissions


def is_firm_admin(user) -> bool:
    return user.is_authenticated and user.is_firm_admin


def can_view_client(user, client) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_firm_admin or user.role == user.Role.READONLY or client.staff_id == user.pk


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
