"""The categories every installation starts with (the issue's list); staff add their own per place."""

from __future__ import annotations

# code, 名称, English, response minutes, resolution hours, dispatch mode, organisation kind, return visit
DEFAULT_CATEGORIES: tuple[tuple[str, str, str, int, int, str, str, bool], ...] = (
    ("water-power", "水电", "water and power", 30, 24, "round_robin", "property_company", True),
    ("public-facilities", "公共设施", "public facilities", 60, 72, "assign", "property_company", True),
    ("sanitation", "环境卫生", "sanitation", 60, 24, "grab", "property_company", False),
    ("greenery", "绿化", "greenery", 120, 72, "grab", "property_company", False),
    ("parking", "停车", "parking", 60, 48, "assign", "property_company", False),
    ("noise", "噪音", "noise", 60, 48, "assign", "community_committee", False),
    ("property-service", "物业服务", "property service", 60, 72, "assign", "property_company", True),
    ("safety-hazard", "安全隐患", "safety hazard", 15, 24, "assign", "community_committee", True),
    ("other", "其他", "other", 120, 120, "assign", "community_committee", False),
)
