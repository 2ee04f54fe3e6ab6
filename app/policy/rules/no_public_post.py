"""`no-public-post`: don't post about the interview; other posts are no concern of ours."""

from app.enums import Channel, Severity
from app.policy import seed
from app.policy.rules.base import Hit, Situation, cite, on_platform, rule
from app.policy.search_terms import mentions


@rule(
    id="no-public-post",
    default_severity=Severity.BLOCK,
    default_severity_after_decision=Severity.INFO,
    fires_when=(
        "An outbound `public_post` about the interview or the search: its subject or body "
        "mentions the company, the role title, a contact's name or a search word (see "
        "[Posts](#posts)), or it has no text. Any other post gets an `info` finding saying "
        "it was judged unrelated."
    ),
    quote=seed.NO_PUBLIC_POST,
)
def no_public_post(s: Situation) -> Hit | None:
    if not s.outbound or s.attempt.channel is not Channel.PUBLIC_POST:
        return None
    platform = s.attempt.platform
    where = on_platform(platform)
    platform_value = platform.value if platform else None
    text = "\n".join(part for part in (s.attempt.subject, s.attempt.body) if part)
    found = mentions(
        text,
        company=s.interview.company,
        role_title=s.interview.role_title,
        contact_names=[contact.name for contact in s.contacts.values()],
    )
    if text.strip() and not found:
        return Hit(
            message=(
                f"This public post {where} mentions neither the interview nor the job "
                f"search (no company, role, contact or words such as interview or hiring), "
                f"so it was judged unrelated."
            ),
            advice=(
                f"Posting about other things is fine. {cite(seed.NO_PUBLIC_POST)} Keep "
                f"the interview out of it while the hiring decision is being made."
            ),
            details=[{"platform": platform_value, "about_the_search": False, "mentions": []}],
            severity=Severity.INFO,
        )
    about = f"mentions {_listed(found)}" if found else "has no text, so it may be about anything"
    if s.pending:
        message = (
            f"A public post {where} while the hiring decision is still being made; it {about}."
        )
        advice = f"{cite(seed.NO_PUBLIC_POST)} {seed.RECRUITERS_BROWSE}"
    else:
        message = (
            f"A public post {where} after the decision ({s.interview.decision.value}); it "
            f"{about}, and recruiters may still read it."
        )
        advice = (
            f"{cite(seed.NO_PUBLIC_POST)} Leave out anything the employer shared in confidence."
        )
    return Hit(
        message=message,
        advice=advice,
        details=[{"platform": platform_value, "about_the_search": True, "mentions": found}],
    )


def _listed(found: list[str]) -> str:
    quoted = [f'"{item}"' for item in found]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
