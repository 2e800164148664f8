"""Admin sign-in: password, TOTP (or enrolment), sessions, password change and reset."""

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from functions.api import problems
from functions.api.deps import (
    AnySession,
    Context,
    CurrentPrincipal,
    FullSession,
    clear_session_cookie,
    set_session_cookie,
)
from functions.api.routing import DeferredAPIRoute
from shared.accounts import signin
from shared.accounts.models import AccountView
from shared.accounts.service import session_account
from shared.auth.models import SessionStage
from shared.text import InputModel

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=DeferredAPIRoute)

Secret = Annotated[str, Field(min_length=1, max_length=1024)]


class Strict(InputModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    email: EmailStr
    password: Secret


class SecondFactor(Strict):
    code: Annotated[str, Field(max_length=16)] | None = None
    recovery_code: Annotated[str, Field(max_length=32)] | None = None

    @model_validator(mode="after")
    def _one(self) -> "SecondFactor":
        if bool(self.code) == bool(self.recovery_code):
            raise ValueError("send either code or recovery_code")
        return self


class EnrolmentConfirm(Strict):
    code: Annotated[str, Field(max_length=16)]


class PasswordChange(Strict):
    current_password: Secret
    new_password: Secret


class ResetRequest(Strict):
    email: EmailStr


class ResetConfirm(Strict):
    token: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Secret


class SignInState(BaseModel):
    stage: SessionStage
    csrf_token: str


class EnrolmentStart(BaseModel):
    secret: str
    otpauth_uri: str


class EnrolmentDone(SignInState):
    recovery_codes: list[str]


class SessionInfo(SignInState):
    account: AccountView
    acting_tenant_id: str | None
    read_only: bool


@router.post("/login", responses=problems.responses(401, 429))
def login(body: LoginRequest, response: Response, context: Context) -> SignInState:
    issued = signin.sign_in(email=str(body.email), password=body.password, context=context)
    set_session_cookie(response, issued.token)
    return SignInState(stage=issued.session.stage, csrf_token=issued.session.csrf_token)


@router.post("/mfa/verify", responses=problems.responses(429))
def verify_mfa(
    body: SecondFactor, session: AnySession, response: Response, context: Context
) -> SignInState:
    issued = signin.verify_second_factor(
        session=session, code=body.code, recovery_code=body.recovery_code, context=context
    )
    set_session_cookie(response, issued.token)
    return SignInState(stage=issued.session.stage, csrf_token=issued.session.csrf_token)


@router.post("/mfa/enrolment")
def start_enrolment(session: AnySession, context: Context) -> EnrolmentStart:
    enrolment = signin.begin_enrolment(session=session, context=context)
    return EnrolmentStart(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post("/mfa/enrolment/confirm")
def confirm_enrolment(
    body: EnrolmentConfirm, session: AnySession, response: Response, context: Context
) -> EnrolmentDone:
    issued, codes = signin.confirm_enrolment(session=session, code=body.code, context=context)
    set_session_cookie(response, issued.token)
    return EnrolmentDone(
        stage=issued.session.stage, csrf_token=issued.session.csrf_token, recovery_codes=codes
    )


@router.get("/session")
def current_session(session: FullSession, principal: CurrentPrincipal) -> SessionInfo:
    account = session_account(session)
    return SessionInfo(
        stage=session.stage,
        csrf_token=session.csrf_token,
        account=AccountView.of(account),
        acting_tenant_id=principal.tenant_id,
        read_only=principal.read_only,
    )


@router.post("/logout", status_code=204)
def logout(session: AnySession, response: Response, context: Context) -> None:
    signin.sign_out(session=session, context=context)
    clear_session_cookie(response)


@router.post("/password")
def change_password(
    body: PasswordChange,
    session: FullSession,
    principal: CurrentPrincipal,
    response: Response,
    context: Context,
) -> SignInState:
    issued = signin.change_password(
        principal=principal,
        session=session,
        current_password=body.current_password,
        new_password=body.new_password,
        context=context,
    )
    set_session_cookie(response, issued.token)
    return SignInState(stage=issued.session.stage, csrf_token=issued.session.csrf_token)


@router.post("/password-reset", status_code=202)
def request_reset(body: ResetRequest, context: Context) -> dict[str, str]:
    signin.request_password_reset(email=str(body.email), context=context)
    return {"detail": "If the address belongs to an account, a mail is on its way"}


@router.post("/password-reset/confirm", status_code=204)
def confirm_reset(body: ResetConfirm, context: Context) -> None:
    signin.confirm_password_reset(token=body.token, new_password=body.new_password, context=context)
