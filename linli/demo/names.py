"""Invented people for the demo: surnames weighted by frequency, given names by birth era and sex, ethnicity.

The surname weights follow the order of frequency in Hubei (陈, 王, 李, 张, 刘 lead; 胡, 熊, 余, 程, 阮 and 饶 are
commoner there than nationally); given-name characters follow the fashions of each generation (秀英 and 建国 for
people born before 1960, 子涵 and 梓轩 after 2000). Every person in the demo is invented.
"""

from __future__ import annotations

import random

# Surname and its weight (roughly per mille of the population).
SURNAMES: tuple[tuple[str, int], ...] = (
    ("陈", 70), ("王", 68), ("李", 66), ("张", 62), ("刘", 58), ("胡", 30), ("周", 25), ("杨", 24), ("黄", 22),
    ("吴", 20), ("徐", 18), ("余", 17), ("朱", 15), ("何", 15), ("罗", 14), ("熊", 14), ("彭", 13), ("万", 12),
    ("邓", 12), ("程", 12), ("汪", 11), ("曹", 11), ("郭", 11), ("孙", 10), ("肖", 10), ("高", 10), ("雷", 9),
    ("涂", 8), ("方", 8), ("夏", 8), ("舒", 7), ("谢", 7), ("柯", 7), ("田", 7), ("蔡", 7), ("龚", 7), ("袁", 6),
    ("姜", 6), ("许", 6), ("冯", 6), ("宋", 6), ("唐", 6), ("韩", 5), ("丁", 5), ("沈", 5), ("石", 5), ("魏", 5),
    ("叶", 5), ("阮", 5), ("钟", 5), ("孟", 4), ("金", 4), ("廖", 4), ("董", 4), ("潘", 4), ("付", 4), ("童", 4),
    ("游", 4), ("梅", 4), ("饶", 3), ("卢", 3), ("晏", 3), ("聂", 3), ("邹", 3), ("葛", 3), ("欧阳", 2), ("司马", 1),
)

# (first characters, second characters) of two-character given names, by era and sex.
_GIVEN: dict[tuple[str, str], tuple[str, str]] = {
    ("pre1960", "M"): ("建国德志福长友永明春金汉光振宝家庆忠学文", "国华明生林德强平福清山才发荣海成忠祥安贵"),
    ("pre1960", "F"): ("秀桂玉凤淑翠金兰春美素冬月爱红菊", "英兰珍芳梅华琴香莲荣霞娥云花仙凤"),
    ("1960s", "M"): ("建志伟国军卫红小文新海永立春晓", "军华平强明东伟兵勇林斌刚峰波涛辉杰"),
    ("1960s", "F"): ("丽红秀小春晓桂美艳玉海建", "华萍芳红丽琴燕霞敏玲英娟梅平"),
    ("1980s", "M"): ("志俊浩鹏文宇晓建海国子家明嘉", "伟强磊鹏杰涛超浩斌飞宇龙军峰东"),
    ("1980s", "F"): ("晓丽雪静婷思佳雅欣敏慧倩梦文", "婷娟丽静敏燕雪琳颖倩洁怡霞慧璐"),
    ("2000s", "M"): ("子浩梓宇俊一博思家泽天奕皓铭睿", "轩然涵睿宇泽航辰阳浩哲铭霖杰博"),
    ("2000s", "F"): ("子欣梓诗雨思一可佳语若梦紫依悦", "涵怡琪萱彤妍然菲晴瑶诺宁婷琳"),
}

# 汉族 first; the rest are the groups most present in southern Hubei (土家族 from the west of the province).
ETHNICITIES: tuple[tuple[str, int], ...] = (
    ("汉族", 9860), ("土家族", 70), ("苗族", 20), ("回族", 20), ("壮族", 10), ("满族", 10), ("侗族", 10),
)

_SURNAME_LIST = [s for s, _ in SURNAMES]
_SURNAME_WEIGHTS = [w for _, w in SURNAMES]


def era(birth_year: int) -> str:
    if birth_year < 1960:
        return "pre1960"
    if birth_year < 1980:
        return "1960s"
    if birth_year < 2000:
        return "1980s"
    return "2000s"


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_LIST, weights=_SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, sex: str, birth_year: int) -> str:
    """A given name in the fashion of the person's birth era; about one in twelve has a single character."""
    firsts, seconds = _GIVEN[(era(birth_year), sex)]
    if rng.random() < 0.08:
        return rng.choice(seconds)
    return rng.choice(firsts) + rng.choice(seconds)


def full_name(rng: random.Random, sex: str, birth_year: int, family_name: str | None = None) -> str:
    return (family_name or surname(rng)) + given_name(rng, sex, birth_year)


def ethnicity(rng: random.Random) -> str:
    return rng.choices([e for e, _ in ETHNICITIES], weights=[w for _, w in ETHNICITIES])[0]
