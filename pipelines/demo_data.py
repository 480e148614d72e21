"""Deterministic demo data: the story of DESIGN.md as posts, with ground truth.

Customers write to (or only about) Deutsche Telekom and three competitors; care
agents answer within their staffed hours (after the first week nobody works at
weekends, so Saturday questions wait for the Monday/Tuesday catch-up), sign
their replies, say "Sie" or "du", move cases to DM, e-mail or phone, send
technicians; customers come back thankful or still angry.

The generator knows what it meant, so it writes the ground truth beside the
posts: each case with its first response and first response times (business
minutes by a plain Python calendar walk, independent of the SQL models), each
response's agent and tone, each follow-up event. Only tests read the truth.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from carewatch.config import Brand, CarewatchConfig

PLATFORM = "demo"


# --- brand behaviour -------------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    code: str
    style: str  # caret (^AB), slash (/js), dash (-Tom), vg (VG Anna)
    address: str  # formal, informal or mixed

    def sign(self, text: str) -> str:
        signature = {
            "caret": f" ^{self.code}",
            "slash": f" /{self.code}",
            "dash": f" -{self.code}",
            "vg": f"\nVG {self.code}",
        }[self.style]
        return text + signature


@dataclass(frozen=True)
class Profile:
    share: float  # of the conversations
    language: str  # de or en
    median_delay_min: float  # staffed minutes from pick-up to answer
    answer_rate: float  # for complaints; other kinds scale from it
    private_rate: float  # answered complaints moved to DM / mail / phone
    weekday_hours: tuple[int, int]  # staffed local hours Mon-Fri
    weekend_hours: tuple[int, int] | None  # staffed at weekends (after the first week)
    first_week_weekends: bool  # weekends staffed during the first week
    agents: tuple[Agent, ...]
    late_agents: tuple[Agent, ...] = ()  # join after a quarter of the period


PROFILES: dict[str, Profile] = {
    "telekom": Profile(
        share=0.55,
        language="de",
        median_delay_min=14,
        answer_rate=0.93,
        private_rate=0.4,
        weekday_hours=(8, 20),
        weekend_hours=None,
        first_week_weekends=True,
        agents=(
            Agent("AB", "caret", "formal"),
            Agent("js", "slash", "informal"),
            Agent("Tom", "dash", "informal"),
            Agent("Anna", "vg", "formal"),
            Agent("MK", "caret", "mixed"),
            Agent("Lea", "dash", "informal"),
            Agent("ck", "slash", "formal"),
        ),
        late_agents=(
            Agent("Jan", "vg", "mixed"),
            Agent("SR", "caret", "formal"),
            Agent("Nina", "dash", "informal"),
        ),
    ),
    "1und1": Profile(
        share=0.14,
        language="de",
        median_delay_min=95,
        answer_rate=0.75,
        private_rate=0.55,
        weekday_hours=(9, 18),
        weekend_hours=None,
        first_week_weekends=False,
        agents=(Agent("MS", "caret", "formal"), Agent("Kai", "dash", "formal")),
    ),
    "vodafone": Profile(
        share=0.17,
        language="de",
        median_delay_min=35,
        answer_rate=0.85,
        private_rate=0.5,
        weekday_hours=(8, 20),
        weekend_hours=(10, 14),
        first_week_weekends=True,
        agents=(
            Agent("Lisa", "vg", "informal"),
            Agent("tb", "slash", "informal"),
            Agent("Max", "dash", "mixed"),
        ),
    ),
    "comcast": Profile(
        share=0.14,
        language="en",
        median_delay_min=20,
        answer_rate=0.9,
        private_rate=0.6,
        weekday_hours=(8, 20),
        weekend_hours=(10, 16),
        first_week_weekends=True,
        agents=(Agent("Sarah", "dash", "informal"), Agent("JD", "caret", "informal")),
    ),
}


# --- text ------------------------------------------------------------------------------------

CITIES = ["Hamburg", "Köln", "Bonn", "Leipzig", "Dresden", "Kiel", "Mainz", "Essen", "Ulm", "Jena"]
US_CITIES = ["Philly", "Chicago", "Denver", "Boston", "Atlanta", "Seattle"]
COUNTS = ["zwei", "drei", "vier", "fünf", "sechs", "10", "3", "2"]
MOODS = ["", " 😡", " 🙄", " 😤", "!!", " #fail", ""]

# topic -> the product word used in German customer texts, per brand
PRODUCT = {
    "mobile": {"*": ["Handy", "Mobilfunk", "LTE", "5G", "UMTS"]},
    "fixed_line": {"*": ["DSL", "Glasfaser", "Router", "VDSL", "Festnetz"]},
    "tv": {"telekom": ["MagentaTV", "Entertain"], "1und1": ["1&1 TV"], "vodafone": ["GigaTV"]},
    "email": {"telekom": ["T-Online Mail", "T-Online Postfach"], "*": ["E-Mail Postfach"]},
    "billing": {"*": ["Rechnung", "Abbuchung", "Vertrag"]},
}

DE_COMPLAINTS = {
    "mobile": [
        "{ref} seit {count} Tagen kein Netz in {city}. Was ist da los?{mood}",
        "Schon wieder kein Empfang hier in {city}, {ref} ihr seid echt eine Zumutung{mood}",
        "{ref} mein {product} geht seit heute Morgen nicht mehr, nur noch Funkloch{mood}",
        "kein Netz, kein LTE, nix. {ref} bitte mal kümmern{mood}",
    ],
    "fixed_line": [
        "{ref} Internet seit {count} Tagen gestört, {product} blinkt nur rot{mood}",
        "Mein {product} ist schon wieder ausgefallen. Danke für nichts {ref}{mood}",
        "{ref} kein Internet in {city} seit gestern Abend. Homeoffice unmöglich{mood}",
    ],
    "tv": [
        "{ref} {product} hängt ständig, kein Bild seit dem Update{mood}",
        "Frechheit, {product} geht beim Fußball wieder nicht. {ref}{mood}",
    ],
    "email": [
        "{ref} komme seit {count} Tagen nicht an mein {product}. Passwort geht nicht{mood}",
        "Mails kommen nicht an, {product} tot. {ref}{mood}",
    ],
    "billing": [
        "{ref} falsch abgebucht! Die {product} ist doppelt so hoch wie vereinbart{mood}",
        "Warte seit {count} Wochen auf die Gutschrift. {ref} langsam reicht es{mood}",
    ],
}
DE_QUESTIONS = [
    ("billing", "{ref} Wie kann ich meinen Tarif wechseln?"),
    ("fixed_line", "Weiß jemand, ob {ref} in {city} schon Glasfaser anbietet?"),
    ("mobile", "{ref} gibt es Roaming in der Schweiz inklusive?"),
    ("shop_hotline", "{ref} Wann hat der Shop in {city} am Samstag offen?"),
    ("tv", "{ref} kann man {product} auch auf dem Tablet schauen?"),
]
DE_PRAISE = [
    ("other", "Danke {ref} für die schnelle Hilfe heute! 👍"),
    ("fixed_line", "Muss mal sagen: Glasfaser von {ref} läuft super stabil 🙂"),
    ("shop_hotline", "Toller Service im Shop in {city}, danke {ref}"),
]
DE_OTHER = [
    ("other", "{ref} hat jemand die neue Werbung gesehen 😂"),
    ("other", "Bin gespannt auf das neue Handy-Angebot von {ref}"),
]
EN_COMPLAINTS = {
    "fixed_line": [
        "{ref} my internet has been down since yesterday in {city}{mood}",
        "{ref} still no connection after {count} days, this is ridiculous{mood}",
        "router keeps dropping every hour. {ref} fix it please{mood}",
    ],
    "tv": ["{ref} cable box frozen again, no picture{mood}"],
    "billing": ["{ref} I was charged twice this month and nobody helps{mood}"],
    "mobile": ["{ref} no signal at home since the outage{mood}"],
}
EN_QUESTIONS = [
    ("billing", "{ref} how do I upgrade my plan?"),
    ("fixed_line", "{ref} is there an outage in {city} right now?"),
]
EN_PRAISE = [("other", "thanks {ref} for the quick fix today!")]
EN_OTHER = [("other", "{ref} anyone else watching the game tonight")]

NOISE = [
    "Telekom Baskets Bonn gewinnen gegen Ulm! Was für ein Spiel 🏀",
    "Heute Abend Telekom Baskets in der Halle, wer kommt mit?",
    "Schönes Wetter heute in {city} ☀️",
    "Neuer Podcast ist online, hört mal rein",
    "Stau auf der A1 bei {city}, nichts geht mehr",
]
NEWS = [
    ("Telekom kündigt Glasfaser-Ausbau in {city} an", "telekom"),
    ("Vodafone erhöht die Preise für Kabel-Internet", "vodafone"),
    ("1&1 startet eigenes Mobilfunknetz in weiteren Städten", "1und1"),
]
COMPARISONS = [
    ("Telekom oder Vodafone? Beide Netze sind hier in {city} schlecht", ("telekom", "vodafone")),
    ("Wechsel von 1&1 zu Telekom, mal sehen ob es besser wird", ("1und1", "telekom")),
]

DE_REPLY = {
    ("private", "formal"): [
        "Hallo, das tut uns leid! Bitte schicken Sie uns eine DM mit Ihrer Rufnummer, dann "
        "schauen wir uns das an.",
        "Oh je, das ist ärgerlich. Schreiben Sie uns per Direktnachricht, wir prüfen Ihre "
        "Leitung. 🙂",
        "Das klären wir am besten telefonisch: Wir bieten Ihnen einen Rückruf an, senden Sie uns "
        "dafür eine DM.",
        "Schade, dass es hakt. Schicken Sie uns bitte per Mail Ihre Kundennummer.",
    ],
    ("private", "informal"): [
        "Hey, das klingt ärgerlich 😕 Schick uns doch bitte eine DM mit deiner Rufnummer, dann "
        "schauen wir für dich nach.",
        "Hi! Das schauen wir uns an. Schreib uns per Direktnachricht deine Kundennummer.",
        "Oh nein! Ruf uns an oder schick uns eine DM, dann helfen wir dir weiter.",
    ],
    ("public", "formal"): [
        "Hallo, in Ihrer Region gibt es gerade eine Störung. Die Kollegen arbeiten mit Hochdruck "
        "daran, wir melden uns bei Ihnen.",
        "Danke für Ihre Nachricht. Das Problem ist bekannt und sollte bis heute Abend behoben "
        "sein.",
        "Guten Tag, haben Sie den Router schon einmal neu gestartet? Das hilft oft.",
    ],
    ("public", "informal"): [
        "Hi, bei dir in der Gegend gibt es gerade eine Störung. Die Kollegen sind dran! 💪",
        "Hey, starte doch mal deinen Router neu und sag uns, ob es dann klappt.",
        "Danke für deine Nachricht! Das Problem ist bekannt, wir halten dich auf dem Laufenden.",
    ],
    ("public", "none"): [
        "Danke für die Info! Die Störung ist bekannt und wird behoben. 🙂",
        "Gern geschehen, viel Spaß weiterhin!",
        "Das Update kommt nächste Woche, dann läuft alles wieder rund.",
    ],
}
EN_REPLY = {
    "private": [
        "Sorry to hear that! Please send us a DM with your account details and we'll take a look.",
        "We'd like to help. Can you send us a private message with your address?",
    ],
    "public": [
        "Thanks for reaching out. There is a known outage in your area, our techs are on it.",
        "Sorry about that! Try restarting the gateway, that often helps.",
    ],
}
DE_TECHNICIAN_BRAND = {
    "formal": "Wir haben Ihnen einen Techniker-Termin für Donnerstag zwischen 8 und 12 Uhr "
    "eingetragen.",
    "informal": "Wir haben dir einen Termin mit dem Techniker für Donnerstag eingetragen, "
    "er kommt zwischen 8 und 12 Uhr.",
}
DE_FOLLOW_UP_BRAND = {
    "formal": "Wir bleiben an Ihrem Fall dran und melden uns morgen.",
    "informal": "Wir bleiben an deinem Fall dran und melden uns morgen.",
    "none": "Wir bleiben dran und melden uns morgen.",
}
DE_RESOLVED = [
    "Danke, geht wieder! 👍",
    "Läuft wieder, vielen Dank!",
    "Super, funktioniert wieder.",
]
DE_TECH_RESOLVED = "Der Techniker war da, jetzt geht alles wieder. Danke!"
DE_UNRESOLVED = [
    "Immer noch kein Netz. Langsam reicht es 😡",
    "Noch immer gestört, trotz DM. Was soll das?",
    "Geht immer noch nicht, seit Tagen!",
]
DE_NEUTRAL = ["Hab euch eine DM geschickt.", "Ok, mach ich.", "Alles klar, warte dann mal ab."]
EN_RESOLVED = ["works now, thanks!", "all good again, appreciate it"]
EN_UNRESOLVED = ["still not working after the DM. unbelievable", "still down, nothing changed"]
EN_NEUTRAL = ["sent you a DM", "ok will do"]


# --- calendar ----------------------------------------------------------------------------------


def business_minutes(brand: Brand, start: datetime, end: datetime, holidays: set[date]) -> float:
    """Minutes of [start, end) inside the brand's service hours: a plain day-by-day walk."""
    tz = brand.tz
    windows = {w.iso_weekday: w for w in brand.service_hours}
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    seconds = 0.0
    while day <= last:
        window = windows.get(day.isoweekday())
        if window and day not in holidays:
            opens = _local(day, window.opens_minute, tz)
            closes = _local(day, window.closes_minute, tz)
            overlap = (min(end, closes) - max(start, opens)).total_seconds()
            seconds += max(overlap, 0.0)
        day += timedelta(days=1)
    return seconds / 60


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    return naive.replace(tzinfo=tz).astimezone(UTC)


@dataclass
class Staffing:
    """When a brand's agents actually work (not the same as its configured service hours)."""

    brand: Brand
    profile: Profile
    start: date
    holidays: set[date]

    def shift(self, day: date) -> tuple[datetime, datetime] | None:
        if day in self.holidays:
            return None
        hours = self.profile.weekday_hours
        if day.isoweekday() >= 6:
            in_first_week = (day - self.start).days < 7
            if in_first_week and self.profile.first_week_weekends:
                hours = (10, 18)
            elif self.profile.weekend_hours:
                hours = self.profile.weekend_hours
            else:
                return None
        return _local(day, hours[0] * 60, self.brand.tz), _local(day, hours[1] * 60, self.brand.tz)

    def advance(self, moment: datetime, minutes: float) -> datetime:
        """`minutes` of staffed time after `moment` (waiting through closed hours)."""
        remaining = minutes * 60
        day = moment.astimezone(self.brand.tz).date()
        for _ in range(400):
            shift = self.shift(day)
            if shift:
                begin = max(moment, shift[0])
                if begin < shift[1]:
                    available = (shift[1] - begin).total_seconds()
                    if remaining <= available:
                        return begin + timedelta(seconds=remaining)
                    remaining -= available
            day += timedelta(days=1)
        raise RuntimeError("no staffed time within 400 days")


# --- the generator -----------------------------------------------------------------------------


@dataclass
class DemoData:
    posts: list[dict] = field(default_factory=list)
    truth_cases: list[dict] = field(default_factory=list)
    truth_responses: list[dict] = field(default_factory=list)
    truth_follow_ups: list[dict] = field(default_factory=list)
    truth_posts: list[dict] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Generator:
    def __init__(self, config: CarewatchConfig, seed: int, start: date, days: int) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.end = start + timedelta(days=days)
        # nothing is posted after the period: the demo's "as of" is its end
        self.end_at = datetime.combine(self.end, time(), tzinfo=UTC)
        years = range(start.year, self.end.year + 2)
        self.brands = {b.key: b for b in config.brands if b.key in PROFILES}
        missing = [b.key for b in config.brands if b.key not in PROFILES]
        if missing:
            raise ValueError(f"the demo has no behaviour profile for brand(s) {missing}")
        self.holidays = {k: set(b.holidays(years)) for k, b in self.brands.items()}
        self.staffing = {
            k: Staffing(b, PROFILES[k], start, self.holidays[k]) for k, b in self.brands.items()
        }
        self.next_id = 1_000_000
        self.data = DemoData()

    # ids and posts

    def _post(
        self,
        author: str,
        created: datetime,
        text: str,
        language: str | None,
        parent: dict | None,
        mentions: list[str],
    ) -> dict:
        self.next_id += self.rng.randint(1, 7)
        post = {
            "platform": PLATFORM,
            "post_id": str(self.next_id),
            "author_handle": author,
            "created_at": _iso(created),
            "text": text,
            "language": language,
            "parent_post_id": parent["post_id"] if parent else None,
            "conversation_id": parent["conversation_id"] if parent else str(self.next_id),
            "mentioned_handles": mentions,
        }
        self.data.posts.append(post)
        return post

    def _when(self, brand: Brand) -> datetime:
        """A moment in the period, busier in the afternoon and evening, quieter at weekends."""
        while True:
            day = self.start + timedelta(days=self.rng.randrange(self.days))
            if day.isoweekday() >= 6 and self.rng.random() < 0.35:
                continue
            hour = min(23.99, max(0.0, self.rng.gauss(15, 4.5)))
            local = datetime.combine(day, time()) + timedelta(
                seconds=int(hour * 3600) + self.rng.randrange(60)
            )
            return local.replace(tzinfo=brand.tz).astimezone(UTC)

    def _agent(self, key: str, moment: datetime) -> Agent:
        profile = PROFILES[key]
        pool = profile.agents
        if profile.late_agents and (moment.date() - self.start).days > self.days // 4:
            pool = pool + profile.late_agents
        return self.rng.choice(pool)

    def _address(self, agent: Agent) -> str:
        if agent.address == "mixed":
            return self.rng.choice(["formal", "informal"])
        return agent.address

    # conversations

    def conversation(self, forced: tuple[str, datetime] | None = None) -> None:
        roll = self.rng.random()
        if forced is None and roll < 0.04:
            return self._noise()
        if forced is None and roll < 0.06:
            return self._news()
        if forced is None and roll < 0.075:
            return self._comparison()
        if forced:
            key, opened = forced
        else:
            key = self.rng.choices(list(PROFILES), weights=[p.share for p in PROFILES.values()])[0]
            opened = self._when(self.brands[key])
        self._case_thread(key, opened, kind=None if not forced else "complaint")

    def _customer(self, language: str) -> str:
        prefix = "kunde" if language == "de" else "user"
        return f"{prefix}_{self.rng.randrange(1, 40_000)}"

    def _noise(self) -> None:
        text = self.rng.choice(NOISE).format(city=self.rng.choice(CITIES))
        author = f"fan_{self.rng.randrange(1, 5000)}"
        brand = self.brands["telekom"]
        self._post(author, self._when(brand), text, "de", None, [])

    def _news(self) -> None:
        text, key = self.rng.choice(NEWS)
        brand = self.brands[key]
        opened = self._when(brand)
        post = self._post(
            f"news_{self.rng.randrange(1, 50)}",
            opened,
            text.format(city=self.rng.choice(CITIES)),
            "de",
            None,
            [],
        )
        self._open_case(post, key, "unaddressed", "other", "other", "de")

    def _comparison(self) -> None:
        text, keys = self.rng.choice(COMPARISONS)
        opened = self._when(self.brands[keys[0]])
        post = self._post(
            self._customer("de"), opened, text.format(city=self.rng.choice(CITIES)), "de", None, []
        )
        for key in keys:
            self._open_case(post, key, "unaddressed", "complaint", "mobile", "de")

    def _open_case(
        self, post: dict, key: str, origin: str, kind: str, topic: str, language: str
    ) -> dict:
        case = {
            "case_id": f"{post['post_id']}:{key}",
            "brand": key,
            "platform": PLATFORM,
            "opening_post_id": post["post_id"],
            "customer_handle": post["author_handle"],
            "opened_at": post["created_at"],
            "origin": origin,
            "case_kind": kind,
            "is_complaint": kind == "complaint",
            "topic": topic,
            "language": language,
            "_responses": [],
            "_customer_posts": [],
            "_events": [],
        }
        self.data.truth_cases.append(case)
        return case

    def _opening_text(self, key: str, kind: str, addressed: bool) -> tuple[str, str, str, list]:
        brand = self.brands[key]
        profile = PROFILES[key]
        language = profile.language
        if language == "de" and key == "telekom" and self.rng.random() < 0.08:
            language = "en"
        handle = brand.support_handles[0]
        if addressed:
            ref, mentions = f"@{handle}", [handle.lower()]
        else:
            term = self.rng.choice([t for t in brand.watch_terms if t not in ("Entertain",)])
            ref, mentions = (f"#{term}" if self.rng.random() < 0.25 else term), []
        city = self.rng.choice(US_CITIES if language == "en" else CITIES)
        if language == "en":
            table = {
                "complaint": None,
                "question": EN_QUESTIONS,
                "praise": EN_PRAISE,
                "other": EN_OTHER,
            }[kind]
            if table is None:
                topic = self.rng.choice(list(EN_COMPLAINTS))
                template = self.rng.choice(EN_COMPLAINTS[topic])
            else:
                topic, template = self.rng.choice(table)
        else:
            table = {
                "complaint": None,
                "question": DE_QUESTIONS,
                "praise": DE_PRAISE,
                "other": DE_OTHER,
            }[kind]
            if table is None:
                topics = [t for t in DE_COMPLAINTS if t != "tv" or key != "comcast"]
                topic = self.rng.choice(topics)
                template = self.rng.choice(DE_COMPLAINTS[topic])
            else:
                topic, template = self.rng.choice(table)
        products = PRODUCT.get(topic, {"*": [""]})
        product = self.rng.choice(products.get(key, products.get("*", [""])))
        text = template.format(
            ref=ref,
            city=city,
            count=self.rng.choice(COUNTS),
            product=product,
            mood=self.rng.choice(MOODS),
        )
        return text, language, topic, mentions

    def _case_thread(self, key: str, opened: datetime, kind: str | None) -> None:
        profile = PROFILES[key]
        brand = self.brands[key]
        kind = (
            kind
            or self.rng.choices(
                ["complaint", "question", "praise", "other"], weights=[62, 22, 9, 7]
            )[0]
        )
        addressed = self.rng.random() < 0.65
        text, language, topic, mentions = self._opening_text(key, kind, addressed)
        customer = self._customer(language)
        opening = self._post(customer, opened, text, language, None, mentions)
        case = self._open_case(
            opening, key, "addressed" if addressed else "unaddressed", kind, topic, language
        )
        case["_customer_posts"].append(opening)

        answer_rate = (
            profile.answer_rate
            * {"complaint": 1, "question": 0.95, "praise": 0.5, "other": 0.3}[kind]
        )
        if not addressed:
            answer_rate *= 0.8
        if self.rng.random() >= answer_rate:
            return
        staffing = self.staffing[key]
        delay = self.rng.lognormvariate(math.log(profile.median_delay_min), 0.9)
        if self.rng.random() < 0.02:
            delay += 60 * 24 * 9  # a case found very late, outside the 7-day window
        answered = staffing.advance(opened + timedelta(seconds=20), delay)
        if answered >= self.end_at:
            return
        agent = self._agent(key, answered)
        address = self._address(agent)
        move = kind == "complaint" and self.rng.random() < profile.private_rate
        if language == "en":
            body = self.rng.choice(EN_REPLY["private" if move else "public"])
            address = "none"
        elif not move and kind in ("praise", "other") and self.rng.random() < 0.6:
            body, address = self.rng.choice(DE_REPLY[("public", "none")]), "none"
        else:
            body = self.rng.choice(DE_REPLY[("private" if move else "public", address)])
        reply = self._brand_reply(case, brand, agent, answered, body, address, opening, move)
        case["_events"].extend([("moved_to_private", reply)] if move else [])

        if kind != "complaint":
            return
        # what happens next
        moment = answered
        technician = not move and language == "de" and self.rng.random() < 0.12
        last_brand = reply
        late = moment + timedelta(days=7) >= self.end_at
        if late:
            return  # follow-ups would run past the end of the period
        if technician:
            moment = staffing.advance(moment, self.rng.uniform(10, 240))
            agent = self._agent(key, moment)
            address = self._address(agent)
            last_brand = self._brand_reply(
                case, brand, agent, moment, DE_TECHNICIAN_BRAND[address], address, opening, False
            )
            case["_events"].append(("technician", last_brand))
        outcome = self.rng.random()
        customer_reply_at = moment + timedelta(minutes=self.rng.uniform(20, 60 * 30))
        if technician:
            post = self._customer_reply(case, customer_reply_at, DE_TECH_RESOLVED, "de", last_brand)
            case["_events"].extend([("technician", post), ("resolved_confirmation", post)])
        elif move and outcome < 0.2:
            texts = EN_UNRESOLVED if language == "en" else DE_UNRESOLVED
            post = self._customer_reply(
                case,
                customer_reply_at + timedelta(hours=self.rng.uniform(12, 72)),
                self.rng.choice(texts),
                language,
                last_brand,
            )
            case["_events"].append(("still_unresolved", post))
            if self.rng.random() < 0.6 and post_time(post) + timedelta(days=4) < self.end_at:
                follow_at = staffing.advance(post_time(post), self.rng.uniform(5, 120))
                agent = self._agent(key, follow_at)
                address = "none" if language == "en" else self._address(agent)
                body = (
                    "We're sorry, we'll escalate this right away."
                    if language == "en"
                    else DE_FOLLOW_UP_BRAND[address]
                )
                self._brand_reply(
                    case, brand, agent, follow_at, body, address, post, False, parent=post
                )
        elif outcome < 0.5:
            texts = EN_RESOLVED if language == "en" else DE_RESOLVED
            post = self._customer_reply(
                case, customer_reply_at, self.rng.choice(texts), language, last_brand
            )
            case["_events"].append(("resolved_confirmation", post))
        elif outcome < 0.65:
            texts = EN_NEUTRAL if language == "en" else DE_NEUTRAL
            self._customer_reply(
                case, customer_reply_at, self.rng.choice(texts), language, last_brand
            )

    def _brand_reply(
        self,
        case: dict,
        brand: Brand,
        agent: Agent,
        moment: datetime,
        body: str,
        address: str,
        opening: dict,
        asks_private: bool,
        parent: dict | None = None,
    ) -> dict:
        parent = parent or (case["_customer_posts"][-1] if case["_customer_posts"] else opening)
        # posts carry whole seconds; the truth must use exactly the posted time
        moment = max(moment.replace(microsecond=0), post_time(parent) + timedelta(seconds=30))
        handle = brand.support_handles[0]
        text = agent.sign(f"@{parent['author_handle']} {body}")
        post = self._post(
            handle,
            moment,
            text,
            PROFILES[case["brand"]].language,
            parent,
            [parent["author_handle"].lower()],
        )
        case["_responses"].append(
            {
                "post_id": post["post_id"],
                "case_id": case["case_id"],
                "brand": case["brand"],
                "account": handle,
                "agent": agent.code,
                "address_form": address,
                "asks_private_channel": asks_private,
                "_at": moment,
            }
        )
        return post

    def _customer_reply(
        self, case: dict, moment: datetime, text: str, language: str, parent: dict
    ) -> dict:
        moment = max(moment.replace(microsecond=0), post_time(parent) + timedelta(seconds=30))
        handle = self.brands[case["brand"]].support_handles[0]
        post = self._post(
            case["customer_handle"], moment, f"@{handle} {text}", language, parent, [handle.lower()]
        )
        case["_customer_posts"].append(post)
        case["_events"].append(("customer_reply", post))
        return post

    # special cases that must exist: weekend, holiday, DST

    def special_moments(self) -> list[tuple[str, datetime]]:
        moments: list[tuple[str, datetime]] = []
        for key in ("telekom", "comcast"):
            brand = self.brands[key]
            days = [self.start + timedelta(days=i) for i in range(self.days - 3)]
            fridays = [d for d in days if d.isoweekday() == 5 and (d - self.start).days >= 7]
            for day in fridays[:6]:
                moments.append((key, _local(day, 19 * 60 + 30, brand.tz)))
            for holiday in sorted(self.holidays[key]):
                eve = holiday - timedelta(days=1)
                if self.start <= eve < self.end - timedelta(days=3) and eve.isoweekday() <= 5:
                    for minute in (18 * 60, 19 * 60, 19 * 60 + 40):
                        moments.append((key, _local(eve, minute, brand.tz)))
            for day in days:
                noon = _local(day, 12 * 60, brand.tz)
                next_noon = _local(day + timedelta(days=1), 12 * 60, brand.tz)
                if (
                    noon.astimezone(brand.tz).utcoffset()
                    != next_noon.astimezone(brand.tz).utcoffset()
                ):
                    saturday = day - timedelta(days=(day.isoweekday() - 6) % 7)
                    for minute in (9 * 60, 14 * 60, 21 * 60):
                        moments.append((key, _local(saturday, minute, brand.tz)))
        return moments

    def finish(self) -> DemoData:
        data = self.data
        data.posts.sort(key=lambda p: (p["created_at"], p["post_id"]))
        for case in data.truth_cases:
            brand = self.brands[case["brand"]]
            opened = post_time_iso(case["opened_at"])
            responses = sorted(case.pop("_responses"), key=lambda r: (r["_at"], r["post_id"]))
            customer_posts = case.pop("_customer_posts")
            events = case.pop("_events")
            first = responses[0] if responses else None
            first_at = first["_at"] if first else None
            for index, response in enumerate(responses):
                response["is_first_response"] = index == 0
                at = response.pop("_at")
                if index > 0:
                    events.append(
                        (
                            "brand_follow_up",
                            {"post_id": response["post_id"], "created_at": _iso(at)},
                        )
                    )
                data.truth_responses.append(response)
            case["first_response_post_id"] = first["post_id"] if first else None
            case["first_response_at"] = _iso(first_at) if first_at else None
            if first_at:
                case["first_response_minutes"] = (first_at - opened).total_seconds() / 60
                case["first_response_business_minutes"] = business_minutes(
                    brand, opened, first_at, self.holidays[case["brand"]]
                )
            else:
                case["first_response_minutes"] = None
                case["first_response_business_minutes"] = None
            window = brand.response_window_days * 1440
            case["answered_within_window"] = bool(
                first_at and case["first_response_minutes"] <= window
            )
            local_open = opened.astimezone(brand.tz)
            case["opened_on_weekend"] = local_open.isoweekday() >= 6
            monday = local_open.date() + timedelta(days=8 - local_open.isoweekday())
            case["answered_before_monday"] = (
                bool(first_at and first_at < _local(monday, 0, brand.tz))
                if case["opened_on_weekend"]
                else None
            )
            event_rows = sorted(
                (
                    {
                        "case_id": case["case_id"],
                        "post_id": p["post_id"],
                        "event_type": kind,
                        "occurred_at": p["created_at"],
                    }
                    for kind, p in events
                ),
                key=lambda e: (e["occurred_at"], e["post_id"], e["event_type"]),
            )
            data.truth_follow_ups.extend(event_rows)
            kinds = [e["event_type"] for e in event_rows]
            case["moved_to_private"] = "moved_to_private" in kinds
            outcomes = [k for k in kinds if k in ("resolved_confirmation", "still_unresolved")]
            case["resolved"] = bool(outcomes) and outcomes[-1] == "resolved_confirmation"
            moved_at = min(
                (e["occurred_at"] for e in event_rows if e["event_type"] == "moved_to_private"),
                default=None,
            )
            case["boomerang"] = bool(moved_at) and any(
                e["event_type"] == "still_unresolved" and e["occurred_at"] > moved_at
                for e in event_rows
            )
            self._flag_spans(case, brand, opened, first_at)
            for post in customer_posts:
                data.truth_posts.append(
                    {"post_id": post["post_id"], "case_id": case["case_id"], "role": "customer"}
                )
        return data

    def _flag_spans(self, case: dict, brand: Brand, opened: datetime, first_at) -> None:
        case["spans_weekend"] = case["spans_holiday"] = case["spans_dst"] = False
        if not first_at:
            return
        tz = brand.tz
        day, last = opened.astimezone(tz).date(), first_at.astimezone(tz).date()
        while day <= last:
            case["spans_weekend"] |= day.isoweekday() >= 6
            case["spans_holiday"] |= day in self.holidays[case["brand"]]
            day += timedelta(days=1)
        case["spans_dst"] = opened.astimezone(tz).utcoffset() != first_at.astimezone(tz).utcoffset()


def post_time(post: dict) -> datetime:
    return post_time_iso(post["created_at"])


def post_time_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _run(config: CarewatchConfig, seed: int, start: date, days: int, size: int) -> _Generator:
    if days < 7:
        raise ValueError("the demo needs at least 7 days")
    generator = _Generator(config, seed, start, days)
    for key, moment in generator.special_moments():
        generator.conversation(forced=(key, moment))
    while len(generator.data.posts) < size:
        generator.conversation()
    return generator


def generate_demo(
    config: CarewatchConfig,
    *,
    seed: int = 42,
    start: date = date(2026, 3, 2),
    days: int = 184,
    size: int = 40_000,
) -> DemoData:
    """The demo scenario with its ground truth; same arguments, same output."""
    generator = _run(config, seed, start, days, size)
    data = generator.finish()
    truth_ids = {row["post_id"] for row in data.truth_posts}
    for post in data.posts:
        if post["post_id"] not in truth_ids:
            data.truth_posts.append({"post_id": post["post_id"], "case_id": None, "role": "other"})
    return data


def iter_demo_posts(
    config: CarewatchConfig,
    *,
    seed: int = 42,
    start: date = date(2026, 3, 2),
    days: int = 184,
    size: int = 40_000,
    chunk: int = 50_000,
) -> Iterator[dict]:
    """The same posts as generate_demo (not sorted), streamed in chunks without truth."""
    generator = _Generator(config, seed, start, days)
    produced = 0
    for key, moment in generator.special_moments():
        generator.conversation(forced=(key, moment))
    while True:
        while len(generator.data.posts) < chunk and produced + len(generator.data.posts) < size:
            generator.conversation()
        produced += len(generator.data.posts)
        yield from generator.data.posts
        generator.data.posts = []
        generator.data.truth_cases = []
        if produced >= size:
            return


def write_demo(data: DemoData, out_dir: Path) -> dict[str, Path]:
    """posts.jsonl and truth/*.jsonl under out_dir (replacing earlier files)."""
    paths = {
        "posts": out_dir / "posts.jsonl",
        "cases": out_dir / "truth" / "cases.jsonl",
        "responses": out_dir / "truth" / "responses.jsonl",
        "follow_ups": out_dir / "truth" / "follow_ups.jsonl",
        "truth_posts": out_dir / "truth" / "posts.jsonl",
    }
    rows = {
        "posts": data.posts,
        "cases": data.truth_cases,
        "responses": data.truth_responses,
        "follow_ups": data.truth_follow_ups,
        "truth_posts": data.truth_posts,
    }
    for name, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for row in rows[name]:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return paths
