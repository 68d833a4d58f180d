"""The demo's facilities. 梅园社区 and 祥和苑 carry the field case's list (kindergarten, nursery, 2 elderly service
centres, 1 nursing home, shops, 100 parking spaces, 3 e-bike charging sheds, 1 car charging point, 2 drying areas,
45 sets of sports equipment, gate-ball / basketball / indoor sports grounds, the party-and-mass service centre);
the other communities have a plainer set, with the gaps a real complete-community assessment would find."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FacilitySpec:
    owner: str  # "community" or the estate's name
    kind: str
    name: str
    east_m: float  # from the owner's centre
    north_m: float
    extra: dict[str, Any] = field(default_factory=dict)


FACILITIES: dict[str, tuple[FacilitySpec, ...]] = {
    "梅园社区": (
        FacilitySpec("community", "party_mass_centre", "梅园社区党群服务中心", 60, 200,
                     {"floor_area_m2": 820, "opening_hours": "08:30-17:30", "operator": "梅园社区居委会"}),
        FacilitySpec("community", "kindergarten", "梅园幼儿园", 250, 260,
                     {"floor_area_m2": 2400, "land_area_m2": 3600, "capacity": 270, "attrs": {"classes": 9}}),
        FacilitySpec("community", "nursery", "青龙托育园", 300, 180, {"floor_area_m2": 260, "capacity": 40}),
        FacilitySpec("community", "elderly_service_station", "梅园社区老年服务站", 100, 190,
                     {"floor_area_m2": 380, "opening_hours": "08:00-18:00", "attrs": {"day_care_beds": 12}}),
        FacilitySpec("community", "elderly_service_station", "青龙老年服务中心", 420, -180,
                     {"floor_area_m2": 420, "opening_hours": "08:00-18:00", "attrs": {"meal_help": True}}),
        FacilitySpec("community", "nursing_home", "浮山颐养院", -330, -230,
                     {"floor_area_m2": 2600, "capacity": 120, "operator": "咸宁颐康养老服务有限公司"}),
        FacilitySpec("community", "health_station", "梅园社区卫生服务站", 140, 210,
                     {"floor_area_m2": 160, "opening_hours": "08:00-20:00"}),
        FacilitySpec("community", "supermarket", "梅园惠民超市", 210, 120, {"floor_area_m2": 650}),
        FacilitySpec("community", "canteen", "梅园长者食堂", 110, 175,
                     {"capacity": 60, "opening_hours": "11:00-13:00,17:00-18:30"}),
        FacilitySpec("community", "barber", "青龙理发店", 230, 95, {}),
        FacilitySpec("community", "pharmacy", "福康大药房梅园店", 190, 100, {"opening_hours": "08:00-22:00"}),
        FacilitySpec("community", "sports_ground", "梅园门球场", -260, 170, {"land_area_m2": 600, "attrs": {"sport": "门球"}}),
        FacilitySpec("community", "sports_ground", "梅园篮球场", -200, 210,
                     {"land_area_m2": 620, "attrs": {"sport": "篮球"}}),
        FacilitySpec("community", "sports_ground", "梅园室内运动馆", 40, 240,
                     {"floor_area_m2": 900, "attrs": {"sport": "室内综合", "classes": "舞蹈每周3次"}}),
        FacilitySpec("祥和苑", "parking", "祥和苑停车场", 0, -10, {"capacity": 100, "attrs": {"spaces": 100}}),
        FacilitySpec("祥和苑", "ebike_charging", "祥和苑电动自行车充电棚（一）", -150, 10, {"capacity": 20}),
        FacilitySpec("祥和苑", "ebike_charging", "祥和苑电动自行车充电棚（二）", 20, 10, {"capacity": 20}),
        FacilitySpec("祥和苑", "ebike_charging", "祥和苑电动自行车充电棚（三）", 150, -20, {"capacity": 16}),
        FacilitySpec("祥和苑", "ev_charging", "祥和苑汽车充电桩", 10, -25, {"capacity": 1}),
        FacilitySpec("祥和苑", "drying_area", "祥和苑晾晒区（东）", 170, 10, {"land_area_m2": 80}),
        FacilitySpec("祥和苑", "drying_area", "祥和苑晾晒区（西）", -200, -10, {"land_area_m2": 70}),
        FacilitySpec("祥和苑", "fitness", "祥和苑健身广场", -60, -5, {"attrs": {"equipment_sets": 45}}),
        FacilitySpec("祥和苑", "express_point", "祥和苑快递驿站", 100, 5, {"opening_hours": "08:00-21:00"}),
        FacilitySpec("祥和苑", "property_office", "祥和苑物业服务中心", 40, 0,
                     {"floor_area_m2": 90, "operator": "咸宁祥和物业服务有限公司", "phone": "0715-8123001"}),
    ),
    "桂花社区": (
        FacilitySpec("community", "service_station", "桂花社区综合服务站", 0, 40,
                     {"floor_area_m2": 760, "opening_hours": "08:30-17:30"}),
        FacilitySpec("community", "health_station", "桂花社区卫生服务站", 30, 60, {"floor_area_m2": 130}),
        FacilitySpec("community", "convenience_store", "桂花便利店", -60, 20, {}),
        FacilitySpec("community", "express_point", "桂花快递驿站", -80, 10, {}),
        FacilitySpec("桂花苑", "parking", "桂花苑停车场", 0, 0, {"capacity": 60}),
        FacilitySpec("丹桂小区", "ebike_charging", "丹桂小区充电棚", 10, 0, {"capacity": 24}),
        FacilitySpec("丹桂小区", "playground", "丹桂儿童乐园", -20, 10, {"land_area_m2": 300}),
    ),
    "西河社区": (
        FacilitySpec("community", "service_station", "西河社区党群服务站", 0, 30, {"floor_area_m2": 540}),
        FacilitySpec("community", "elderly_day_care", "西河日间照料中心", 40, 20, {"floor_area_m2": 360, "capacity": 30}),
        FacilitySpec("community", "fresh_market", "南门菜市场", 150, -10, {"floor_area_m2": 1200}),
        FacilitySpec("community", "canteen", "西河社区食堂", 50, 30, {"capacity": 40}),
        FacilitySpec("西河小区", "fitness", "西河小区健身点", 0, 0, {"attrs": {"equipment_sets": 12}}),
    ),
}
