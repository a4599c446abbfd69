"""The user's work: employer, role, being retired or self-employed, leaving a job; and where they study."""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, cut, strip_article
from assistant.learning.rules.words import I_AM
from assistant.memory.language import article, singular
from assistant.memory.types import Kind

# "I'm a nurse" is a role only when its last word names a job.
_JOB_HEADS = frozenset(
    "engineer|developer|programmer|coder|scientist|manager|designer|analyst|consultant|teacher|professor|"
    "lecturer|nurse|doctor|physician|surgeon|dentist|lawyer|attorney|solicitor|barrister|accountant|"
    "architect|chef|cook|baker|writer|author|journalist|editor|artist|musician|photographer|pilot|driver|"
    "mechanic|electrician|plumber|carpenter|farmer|student|researcher|librarian|pharmacist|therapist|"
    "psychologist|psychiatrist|veterinarian|vet|firefighter|paramedic|police officer|officer|soldier|"
    "salesperson|cashier|waiter|waitress|bartender|barista|receptionist|secretary|administrator|"
    "technician|entrepreneur|founder|ceo|cto|cfo|coo|director|intern|freelancer|translator|interpreter|"
    "economist|midwife|tutor|coach|trainer|dietitian|nutritionist|optometrist|banker|broker|clerk|janitor|"
    "cleaner|tailor|hairdresser|barber|contractor|sysadmin|devops|physiotherapist|radiologist|"
    "anesthesiologist|pediatrician|paediatrician|cardiologist|postdoc|phd student|graduate student|"
    "undergrad|undergraduate|actor|actress|dancer|singer|painter|sculptor|illustrator|animator|producer|"
    "filmmaker|blogger|youtuber|streamer|influencer|marketer|recruiter|planner|strategist|auditor|"
    "underwriter|actuary|statistician|mathematician|physicist|chemist|biologist|geologist|astronomer|"
    "historian|linguist|philosopher|sociologist|archaeologist|pastor|priest|rabbi|imam|minister|"
    "politician|diplomat|judge|paralegal|social worker|caregiver|carer|nanny|babysitter|housekeeper|"
    "homemaker|stay-at-home mom|stay-at-home dad|landscaper|gardener|welder|machinist|operator|dispatcher|"
    "courier|trucker|truck driver|bus driver|taxi driver|flight attendant|steward|stewardess|captain|"
    "sailor|fisherman|miner|builder|surveyor|inspector|estate agent|realtor|real estate agent|agent|"
    "assistant professor|data scientist|product manager|project manager|security guard|guard|lifeguard|"
    "personal trainer|retail worker|warehouse worker|factory worker|nurse practitioner|optician|"
    "chiropractor|psychotherapist|counselor|counsellor|educator|principal|headteacher".split("|")
)
# "I work at night", "I work for a living": not employers.
_NOT_EMPLOYERS = frozenset(
    "night|nights|home|weekends|the moment|a living|free|fun|money|you|it|that|this|night shifts|"
    "the weekend|weekdays|hours|length|times".split("|")
)


def role_text(role: str) -> str:
    if role in ("retired", "unemployed", "self-employed"):
        return f"User is {role}"
    return f"User works as {article(role)} {role}"


def job_role(text: str) -> str:
    value = cut(
        text,
        max_words=4,
        stop=re.compile(
            r"(?i)\s*(?:[,.;!?()]|\s(?:at|for|in|with|and|but|since|"
            r"by|from|who|which|because|now|currently|so)\b)"
        ),
    )
    value = strip_article(value).lower()
    if not value:
        return ""
    head = value.split()[-1]
    if value in _JOB_HEADS or head in _JOB_HEADS or singular(head) in _JOB_HEADS:
        return value
    return ""


def cut_employer(text: str) -> str:
    """The employer at the start of `text` ("Google" in "Google as a designer"), or ""."""
    value = cut(
        text,
        max_words=5,
        stop=re.compile(
            r"(?i)\s*(?:[,.;!?()]|\s(?:as|and|but|since|because|for the|now|currently|where|which|so|in the|"
            r"from|during|these days|remotely|full[- ]time|part[- ]time)\b)"
        ),
    )
    if not value or value.lower() in _NOT_EMPLOYERS or DETERMINER_START.match(value):
        return ""
    return value


@rule(
    r"(?:i\s+(?:currently\s+|now\s+|still\s+)?work|i'm (?:currently |now )?working|i am (?:currently )?working|"
    r"i've been working|i have been working|" + I_AM + r" employed)\s+(?:at|for|by|with)\s+(?P<rest>.+)"
)
def works_at(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    rest = match.group("rest")
    employer = cut_employer(rest)
    if not employer:
        return []
    if employer.lower() in ("myself", "me"):
        return [ctx.make(Kind.SEMANTIC, "User is self-employed", "user.work.role", "self-employed", importance=0.7)]
    found = [ctx.make(Kind.SEMANTIC, f"User works at {employer}", "user.work.employer", employer, importance=0.7)]
    as_role = re.search(r"(?i)\bas\s+(?:an?\s+)?(?P<role>.+)", rest[len(employer) :])
    if as_role and (role := job_role(as_role.group("role"))):
        found.append(ctx.make(Kind.SEMANTIC, role_text(role), "user.work.role", role, importance=0.7))
    return found


@rule(
    r"(?:(?:i\s+(?:currently\s+|now\s+)?(?:work|freelance)|i'm (?:currently |now )?(?:working|freelancing)|"
    r"i am working)\s+as|my\s+(?:job|role|job title|position)\s+is)\s+(?:a\s+|an\s+)?"
    r"(?P<rest>.+)"
)
def works_as(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    rest = match.group("rest")
    role = cut(rest, max_words=4, stop=re.compile(r"(?i)\s*(?:[,.;!?()]|\s(?:at|for|in|with|and|but|since|now)\b)"))
    role = role.lower()
    if not role or DETERMINER_START.match(role):
        return []
    found = [ctx.make(Kind.SEMANTIC, role_text(role), "user.work.role", role, importance=0.7)]
    at = re.search(r"(?i)\b(?:at|for)\s+(?P<employer>.+)", rest)
    employer = cut_employer(at.group("employer")) if at else ""
    if employer and not re.match(r"(?i)(?:a|an)\s", employer):
        found.append(
            ctx.make(Kind.SEMANTIC, f"User works at {employer}", "user.work.employer", employer, importance=0.7)
        )
    return found


@rule(I_AM + r"\s+(?:now\s+|currently\s+|still\s+)?(?:a|an)\s+(?P<rest>.+)")
def i_am_a(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    rest = match.group("rest")
    role = job_role(rest)
    if not role:
        return []
    found = [ctx.make(Kind.SEMANTIC, role_text(role), "user.work.role", role, importance=0.7, confidence=0.85)]
    at = re.search(r"(?i)\b(?:at|for|with)\s+(?P<employer>.+)", rest)
    employer = cut_employer(at.group("employer")) if at else ""
    if employer and not re.match(r"(?i)(?:a|an)\s", employer):  # "for a small firm" names no employer
        if role.endswith("student"):
            found.append(
                ctx.make(
                    Kind.SEMANTIC, f"User studies at {employer}", "user.education.school", employer, importance=0.7
                )
            )
        else:
            found.append(
                ctx.make(Kind.SEMANTIC, f"User works at {employer}", "user.work.employer", employer, importance=0.7)
            )
    return found


@rule(
    I_AM + r"\s+(?:now\s+)?(?P<status>retired|unemployed|self-employed|self employed|a stay-at-home parent)"
    r"\s*(?:[,.!]|$|\s+(?:now|and|but|since)\b)"
)
def work_status(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    status = match.group("status").lower().replace("self employed", "self-employed")
    return [ctx.make(Kind.SEMANTIC, role_text(status), "user.work.role", status, importance=0.7)]


@rule(r"(?:i\s+(?:don't|do not|no longer)\s+work|i'm not working|i am not working)\s+(?:at|for)\s+(?P<rest>.+)")
def employer_retracted(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    employer = cut_employer(match.group("rest"))
    if not employer:
        return []
    return [
        ctx.make(
            Kind.SEMANTIC,
            f"User no longer works at {employer}",
            "user.work.employer",
            employer,
            importance=0.7,
            retracts=True,
        )
    ]


@rule(r"i\s+(?:just\s+)?(?:quit|left)\s+my\s+job(?:\s+(?:at|with)\s+(?P<rest>.+))?")
def quit_job(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    employer = cut_employer(match.group("rest") or "")
    text = f"User no longer works at {employer}" if employer else "User left their job"
    return [ctx.make(Kind.SEMANTIC, text, "user.work.employer", employer or None, importance=0.7, retracts=True)]


@rule(r"being\s+(?:a|an)\s+(?P<rest>.+?)\s+(?:is|has been|can be|gets|was)\b")
def being_a(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'being a paramedic is exhausting'."""
    role = job_role(match.group("rest"))
    return (
        [ctx.make(Kind.SEMANTIC, role_text(role), "user.work.role", role, importance=0.7, confidence=0.8)]
        if role
        else []
    )


@rule(
    r"i\s+(?:just\s+|recently\s+|finally\s+)?(?:started|got|began|landed|accepted)\s+(?:a\s+)?(?:new\s+)?"
    r"(?:job|position|role)\s+(?:at|with)\s+(?P<rest>.+)"
)
def new_job(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    employer = cut_employer(match.group("rest"))
    if not employer:
        return []
    return [ctx.make(Kind.SEMANTIC, f"User works at {employer}", "user.work.employer", employer, importance=0.7)]


# A job said in passing, inside a clause another rule reads first: "I just moved to Braga for a
# job as a nurse", "so glad I finally landed a job as a paramedic". Only a job the user has
# (took, started, moved for), never one they want, applied for or were only offered.
_JOB_TAKEN = re.compile(
    r"(?i)\bi(?:'ve| have| had)?\s+(?:just\s+|recently\s+|finally\s+|only\s+)*"
    r"(?:(?:moved|relocated|came)\b[^.;!?]*?\b(?:for|to (?:start|take))\s+"
    r"|(?:started|landed|accepted|took|began|got)\s+)"
    r"(?:a|my|the)\s+(?:new\s+|first\s+)?(?:job|position|role|post)\s+as\s+(?:an?\s+)?(?P<role>.+)"
)
_NOT_TAKEN = re.compile(
    r"(?i)n't\b|\b(?:not|never|no|applied|apply|applying|looking|look|searching|hoping|hope|want|wanted|"
    r"trying|try|offered|interview(?:ed|ing)?|find|finding|might|maybe)\b"
)


def job_in_passing(ctx: RuleContext) -> list[Candidate]:
    """The role in a job the user says they took, anywhere in the clause ('moved here for a job as a nurse')."""
    match = _JOB_TAKEN.search(ctx.clause)
    if match is None or _NOT_TAKEN.search(ctx.clause[: match.start("role")]):
        return []
    role = job_role(match.group("role"))
    if not role:
        return []
    return [ctx.make(Kind.SEMANTIC, role_text(role), "user.work.role", role, importance=0.7, confidence=0.85)]
