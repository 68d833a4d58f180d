"""Invented households for the demo: who lives together, their ages, ID numbers, phones and care tags.

Plain data, no database: ``seed.py`` writes it. The mix of household kinds is that of an old estate in a county
town (many elderly couples whose children work elsewhere, elderly people living alone, grandparents raising
left-behind grandchildren, young families and tenants), giving about 2.5 people per household and about 30 %
of residents aged 60 or more. Care tags follow field-case-like rates. Every ID number carries the region code
421202, the person's birth date and sex and a correct GB 11643 check digit, and is unique; so is every mobile
number.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from linli.core.identity import age_on, id_check_digit

from . import names

REGION = "421202"
# The demo's "today": ages, the 80+ tag and dates are computed against it, so the data never depends on the run date.
REFERENCE_DATE = dt.date(2026, 11, 1)

# (kind, weight, tenants?)
HOUSEHOLD_KINDS: tuple[tuple[str, int, bool], ...] = (
    ("elderly_alone", 12, False),
    ("empty_nest", 19, False),
    ("elderly_with_adult_child", 6, False),
    ("three_generations", 9, False),
    ("left_behind", 3, False),
    ("nuclear", 22, False),
    ("single_parent", 3, False),
    ("middle_aged_couple", 10, False),
    ("single_adult", 7, False),
    ("tenant_couple", 7, True),
    ("tenant_sharers", 4, True),
)
_MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                    "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "186", "187",
                    "188", "189", "191", "198", "199")
_GRADE_WEIGHTS = ((1, 15), (2, 25), (3, 30), (4, 30))


def plus_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (28 February for a 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass
class Person:
    name: str
    surname: str
    sex: str
    birth: dt.date
    relation: str  # owner / head / member / tenant (Occupancy.relation)
    kin: str  # 户主, 配偶, 子女, 孙子女, 父母, 合租 (kept in notes for staff)
    id_number: str = ""
    phone: str = ""
    ethnicity: str = "汉族"
    has_smartphone: bool = True
    since: dt.date | None = None
    tags: list[tuple[str, int | None, dt.date]] = field(default_factory=list)  # (code, grade, since)

    @property
    def age(self) -> int:
        return age_on(self.birth, REFERENCE_DATE) or 0

    def tag(self, code: str, since: dt.date, grade: int | None = None) -> None:
        if all(c != code for c, _, _ in self.tags):
            self.tags.append((code, grade, since))


@dataclass
class Contact:
    name: str
    relation: str
    phone: str = ""
    neighbour: Person | None = None  # a resident of the same entrance, linked to their record


@dataclass
class Household:
    kind: str
    tenants: bool
    members: list[Person]
    contacts: list[Contact] = field(default_factory=list)
    absentee_owner: Person | None = None  # the owner of a rented dwelling, living in another flat of the estate
    party_household: bool = False

    @property
    def head(self) -> Person:
        return self.members[0]


class Population:
    """Draws households from one random stream and keeps ID numbers and phones unique across all of them."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.id_numbers: set[str] = set()
        self.phones: set[str] = set()

    # ------------------------------------------------------------ people

    def birth_for_age(self, age: int) -> dt.date:
        """A birth date at which a person is exactly ``age`` on REFERENCE_DATE."""
        latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
        earliest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age - 1)
        return latest - dt.timedelta(days=self.rng.randrange((latest - earliest).days))

    def id_number(self, birth: dt.date, sex: str) -> str:
        parity = 1 if sex == "M" else 0
        order = self.rng.randrange(500)
        while True:
            first17 = f"{REGION}{birth:%Y%m%d}{(order * 2 + parity) % 1000:03d}"
            number = first17 + id_check_digit(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number
            order += 1

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def person(self, sex: str, age: int, relation: str, kin: str, family_name: str | None = None) -> Person:
        birth = self.birth_for_age(age)
        family = family_name or names.surname(self.rng)
        p = Person(name=family + names.given_name(self.rng, sex, birth.year), surname=family, sex=sex, birth=birth,
                   relation=relation, kin=kin, ethnicity=names.ethnicity(self.rng))
        p.id_number = self.id_number(birth, sex)
        if age >= 14 and not (age >= 80 and self.rng.random() < 0.15):
            p.phone = self.mobile()
        p.has_smartphone = bool(p.phone) and age >= 12 and self.rng.random() < (
            0.45 if age >= 75 else 0.8 if age >= 60 else 0.98)
        return p

    def _sex(self, female_share: float = 0.5) -> str:
        return "F" if self.rng.random() < female_share else "M"

    def _spouse(self, head: Person, relation: str) -> Person:
        sex = "F" if head.sex == "M" else "M"
        age = max(20, head.age + (self.rng.randint(-6, 1) if sex == "F" else self.rng.randint(-1, 6)))
        return self.person(sex, age, relation, "配偶")

    def _children(self, mother_age: int, count: int, family_name: str | None, relation: str, max_age: int = 40,
                  kin: str = "子女") -> list[Person]:
        kids = []
        for _ in range(count):
            age = min(max_age, max(0, mother_age - self.rng.randint(22, 36)))
            kids.append(self.person(self._sex(), age, relation, kin, family_name))
        return kids

    # ------------------------------------------------------------ households

    def household(self, kind: str, tenants: bool) -> Household:
        rng = self.rng
        member = "tenant" if tenants else "member"
        head_rel = "tenant" if tenants else ("owner" if rng.random() < 0.6 else "head")
        if kind == "elderly_alone":
            head = self.person(self._sex(0.68), rng.randint(65, 95), head_rel, "户主")
            members = [head]
        elif kind == "empty_nest":
            head = self.person("M", rng.randint(60, 88), head_rel, "户主")
            members = [head, self._spouse(head, member)]
        elif kind == "elderly_with_adult_child":
            head = self.person("M", rng.randint(58, 82), head_rel, "户主")
            spouse = self._spouse(head, member)
            members = [head, spouse, *self._children(spouse.age, 1, head.surname, member, max_age=45)]
        elif kind == "three_generations":
            head = self.person("M", rng.randint(30, 48), head_rel, "户主")
            spouse = self._spouse(head, member)
            elders = [self.person("M", head.age + rng.randint(24, 32), member, "父母", head.surname)]
            elders.append(self._spouse(elders[0], member))
            elders[1].kin = "父母"
            members = [head, spouse, *elders[: rng.choice((1, 2, 2))],
                       *self._children(spouse.age, rng.choice((1, 1, 2)), head.surname, member, max_age=17)]
        elif kind == "left_behind":
            head = self.person("M", rng.randint(56, 76), head_rel, "户主")
            members = [head]
            if rng.random() < 0.7:
                members.append(self._spouse(head, member))
            members += self._children(head.age - rng.randint(22, 30), rng.choice((1, 1, 2)), head.surname, member,
                                      max_age=15, kin="孙子女")
        elif kind == "nuclear":
            head = self.person("M", rng.randint(28, 52), head_rel, "户主")
            spouse = self._spouse(head, member)
            members = [head, spouse, *self._children(spouse.age, rng.choice((1, 1, 1, 2)), head.surname, member,
                                                     max_age=22)]
        elif kind == "single_parent":
            head = self.person(self._sex(0.7), rng.randint(30, 50), head_rel, "户主")
            members = [head, *self._children(head.age, 1, head.surname if head.sex == "M" else None, member,
                                             max_age=18)]
        elif kind == "middle_aged_couple":
            head = self.person("M", rng.randint(45, 62), head_rel, "户主")
            members = [head, self._spouse(head, member)]
        elif kind == "single_adult":
            members = [self.person(self._sex(), rng.randint(22, 58), head_rel, "户主")]
        elif kind == "tenant_couple":
            head = self.person("M", rng.randint(22, 38), head_rel, "户主")
            spouse = self._spouse(head, member)
            members = [head, spouse]
            if rng.random() < 0.35:
                members += self._children(spouse.age, 1, head.surname, member, max_age=8)
        elif kind == "tenant_sharers":
            members = [self.person(self._sex(), rng.randint(20, 34), "tenant", "户主" if i == 0 else "合租")
                       for i in range(rng.choice((2, 2, 3)))]
        else:
            raise ValueError(f"unknown household kind {kind!r}")
        household = Household(kind=kind, tenants=tenants, members=members)
        self._care_tags(household)
        return household

    def random_household(self) -> Household:
        kinds = [(k, t) for k, _, t in HOUSEHOLD_KINDS]
        kind, tenants = self.rng.choices(kinds, weights=[w for _, w, _ in HOUSEHOLD_KINDS])[0]
        return self.household(kind, tenants)

    # ------------------------------------------------------------ dates and tags

    def date_between(self, start: dt.date, end: dt.date) -> dt.date:
        if end <= start:
            return start
        return start + dt.timedelta(days=self.rng.randrange((end - start).days))

    def _adult_since(self, p: Person, years_back: int) -> dt.date:
        adult = plus_years(p.birth, 18) if p.age >= 18 else p.birth
        return max(adult, self.date_between(REFERENCE_DATE.replace(year=REFERENCE_DATE.year - years_back),
                                            REFERENCE_DATE))

    def _care_tags(self, h: Household) -> None:
        rng = self.rng
        low_income = rng.random() < (0.08 if h.kind == "elderly_alone" else 0.03)
        low_income_since = self.date_between(dt.date(2012, 1, 1), REFERENCE_DATE)
        for p in h.members:
            age = p.age
            if h.kind == "elderly_alone" and age >= 60:
                p.tag("elderly_alone", self._adult_since(p, 15))
                if low_income and rng.random() < 0.3:
                    p.tag("extreme_poverty", low_income_since)
            if h.kind == "empty_nest" and age >= 60:
                p.tag("empty_nest", self._adult_since(p, 12))
            if age >= 80:
                p.tag("aged_80", plus_years(p.birth, 80))
            if age >= 75 and rng.random() < 0.08:
                p.tag("elderly_disabled", self._adult_since(p, 6))
            if rng.random() < (0.05 if age >= 60 else 0.02 if age >= 18 else 0.005):
                grade = rng.choices([g for g, _ in _GRADE_WEIGHTS], weights=[w for _, w in _GRADE_WEIGHTS])[0]
                p.tag("disabled", self._adult_since(p, 20), grade)
            if low_income:
                p.tag("low_income", low_income_since)
            if p.sex == "M" and age >= 40 and rng.random() < 0.035:
                p.tag("veteran", plus_years(p.birth, rng.randint(22, 30)))
                if rng.random() < 0.2:
                    p.tag("special_care", self._adult_since(p, 10))
            if h.kind == "left_behind" and age < 16:
                p.tag("left_behind_child", self.date_between(p.birth, REFERENCE_DATE))
            if age >= 18 and rng.random() < (0.12 if age >= 60 else 0.08 if age >= 36 else 0.05):
                p.tag("party_member", plus_years(p.birth, rng.randint(18, min(age, 45))))
            if age >= 18 and rng.random() < (0.03 if age >= 60 else 0.008):
                p.tag("serious_illness", self._adult_since(p, 5))

    def make_party_household(self, h: Household) -> None:
        """党员中心户: the head is a party member and serves as a building head."""
        h.party_household = True
        head = h.head
        head.tag("party_member", plus_years(head.birth, self.rng.randint(20, min(max(head.age, 21), 45))))

    def move_in_dates(self, h: Household, year_built: int) -> None:
        """Owners moved in when the estate was built or later; tenants in the last six years; children at birth."""
        if h.tenants:
            start = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - 6)
        else:
            start = dt.date(year_built, 1, 1) + dt.timedelta(days=self.rng.randrange(365 * 12))
        household_since = min(self.date_between(start, REFERENCE_DATE), REFERENCE_DATE)
        for p in h.members:
            p.since = max(household_since, p.birth)

    def emergency_contacts(self, h: Household, neighbours: list[Person]) -> None:
        """An elderly person living alone has a child to call and, often, a neighbour of the same entrance."""
        elder = h.head
        child_sex = self._sex()
        child_age = max(30, elder.age - self.rng.randint(24, 34))
        child_family = elder.surname if elder.sex == "M" else None
        child_birth_year = REFERENCE_DATE.year - child_age
        h.contacts.append(Contact(name=names.full_name(self.rng, child_sex, child_birth_year, child_family),
                                  relation="儿子" if child_sex == "M" else "女儿", phone=self.mobile()))
        candidates = [p for p in neighbours if p.phone and 25 <= p.age <= 70]
        if candidates and self.rng.random() < 0.4:
            h.contacts.append(Contact(name="", relation="邻居", neighbour=self.rng.choice(candidates)))
