from django.db import models
from django.utils.translation import gettext_lazy as _


class PlaceKind(models.TextChoices):
    DISTRICT = "district", _("区")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")
    ESTATE = "estate", _("小区")
    BUILDING = "building", _("楼栋")
    ENTRANCE = "entrance", _("单元")
    DWELLING = "dwelling", _("房屋")


# The only kind each kind may hang under (the tree is strict: district > street > ... > dwelling).
PARENT_KIND = {
    PlaceKind.DISTRICT: None,
    PlaceKind.STREET: PlaceKind.DISTRICT,
    PlaceKind.COMMUNITY: PlaceKind.STREET,
    PlaceKind.ESTATE: PlaceKind.COMMUNITY,
    PlaceKind.BUILDING: PlaceKind.ESTATE,
    PlaceKind.ENTRANCE: PlaceKind.BUILDING,
    PlaceKind.DWELLING: PlaceKind.ENTRANCE,
}
KIND_ORDER = [k.value for k in PlaceKind]


class PlaceStatus(models.TextChoices):
    ACTIVE = "active", _("在用")
    MERGED = "merged", _("已合并")
    RETIRED = "retired", _("已撤销")


class FacilityKind(models.TextChoices):
    """Facility types of the complete-community list (完整居住社区建设标准) and the life-circle standard."""

    SERVICE_STATION = "service_station", _("社区综合服务站")
    KINDERGARTEN = "kindergarten", _("幼儿园")
    NURSERY = "nursery", _("托儿所")
    ELDERLY_SERVICE_STATION = "elderly_service_station", _("老年服务站")
    ELDERLY_DAY_CARE = "elderly_day_care", _("日间照料中心")
    NURSING_HOME = "nursing_home", _("养老院")
    HEALTH_STATION = "health_station", _("社区卫生服务站")
    SUPERMARKET = "supermarket", _("综合超市")
    CONVENIENCE_STORE = "convenience_store", _("便利店")
    FRESH_MARKET = "fresh_market", _("菜市场")
    EXPRESS_POINT = "express_point", _("快递点")
    CANTEEN = "canteen", _("社区食堂")
    BARBER = "barber", _("理发店")
    LAUNDRY = "laundry", _("洗衣店")
    PHARMACY = "pharmacy", _("药店")
    REPAIR_SHOP = "repair_shop", _("维修点")
    HOUSEKEEPING = "housekeeping", _("家政服务")
    PARKING = "parking", _("停车场")
    EV_CHARGING = "ev_charging", _("汽车充电桩")
    EBIKE_CHARGING = "ebike_charging", _("电动自行车充电棚")
    SPORTS_GROUND = "sports_ground", _("运动场地")
    FITNESS = "fitness", _("健身设施")
    PLAYGROUND = "playground", _("儿童游乐场")
    PARK = "park", _("公园绿地")
    PARTY_MASS_CENTRE = "party_mass_centre", _("党群服务中心")
    CULTURE_STATION = "culture_station", _("文化活动站")
    PRIMARY_SCHOOL = "primary_school", _("小学")
    MIDDLE_SCHOOL = "middle_school", _("中学")
    BUS_STOP = "bus_stop", _("公交站")
    PUBLIC_TOILET = "public_toilet", _("公共厕所")
    WASTE_POINT = "waste_point", _("垃圾分类点")
    PROPERTY_OFFICE = "property_office", _("物业管理用房")
    DRYING_AREA = "drying_area", _("晾晒区")
    OTHER = "other", _("其他")
