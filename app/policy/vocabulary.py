"""Words the spell checker should accept beyond pyspellchecker's English dictionary."""

from typing import Final

EXTRA_WORDS: Final = frozenset(
    {
        # British forms the ending rules below don't cover.
        "aluminium", "cheque", "cheques", "cv", "cvs", "dreamt", "enrol", "enrols", "fulfil",
        "fulfils", "grey", "instil", "jewellery", "kerb", "learnt", "manoeuvre", "mum",
        "paediatric", "sceptical", "spelt", "storey", "tyre", "tyres", "whilst",
        # Working life and the follow-up itself.
        "analytics", "bootcamp", "bootcamps", "codebase", "codebases", "cybersecurity",
        "dataset", "datasets", "deliverable", "deliverables", "hackathon", "hackathons",
        "offboarding", "onboard", "onboarding", "reskilling", "roadmap", "roadmaps",
        "scaleup", "scaleups", "texted", "texting", "upskilling", "voicemail", "voicemails",
        "webinar", "webinars", "workflow", "workflows",
        # Everyday abbreviations and words of the internet age.
        "app", "apps", "approx", "btw", "dept", "etc", "ext", "fyi", "hashtag", "hashtags",
        "inbox", "incl", "livestream", "logins", "pls", "podcast", "podcasts", "screenshot",
        "screenshots", "selfie", "signup", "smartphone", "smartphones", "thx", "usernames",
        "webcam",
        # Technology, often written in lower case.
        "async", "backend", "blockchain", "chatbot", "chatbots", "devops", "django",
        "ecommerce", "edtech", "fintech", "frontend", "fullstack", "github", "gitlab",
        "golang", "healthtech", "kotlin", "kubernetes", "microservice", "microservices",
        "mongodb", "multi", "mysql", "nosql", "postgres", "postgresql", "pre", "redis",
        "refactor", "refactored", "refactoring", "repo", "repos", "saas", "serverless",
        "wifi",
        # Platform names.
        "facebook", "instagram", "linkedin", "tiktok", "twitter",
    }
)  # fmt: skip

BRITISH_ENDINGS: Final = (
    ("isation", "ization"), ("isations", "izations"), ("ise", "ize"), ("ised", "ized"),
    ("ises", "izes"), ("ising", "izing"), ("iser", "izer"), ("isers", "izers"),
    ("yse", "yze"), ("ysed", "yzed"), ("yses", "yzes"), ("ysing", "yzing"),
    ("our", "or"), ("ours", "ors"), ("oured", "ored"), ("ouring", "oring"),
    ("ourite", "orite"), ("ourites", "orites"), ("ourable", "orable"),
    ("tre", "ter"), ("tres", "ters"), ("ence", "ense"), ("ences", "enses"),
    ("ogue", "og"), ("ogues", "ogs"), ("elled", "eled"), ("elling", "eling"),
    ("eller", "eler"), ("ellers", "elers"), ("mme", "m"), ("mmes", "ms"),
    ("dgement", "dgment"), ("dgements", "dgments"), ("lment", "llment"),
    ("lments", "llments"),
)  # fmt: skip
"""British endings and their American forms: a British word the dictionary lacks is
accepted when its American form is known (prioritise, organisation, favour, centre)."""
