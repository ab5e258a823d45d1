"""Words and places the synthetic region is made of: Taizhou (台州), Zhejiang.

Districts, towns and coordinates are real; people, businesses and streets numbers are not.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCE = "浙江省"
CITY = "台州市"


@dataclass(frozen=True, slots=True)
class District:
    code: int
    name: str
    lon: float
    lat: float
    share: float
    towns: tuple[str, ...]


DISTRICTS: tuple[District, ...] = (
    District(
        331002,
        "椒江区",
        121.442,
        28.673,
        0.16,
        (
            "海门街道",
            "白云街道",
            "葭沚街道",
            "洪家街道",
            "三甲街道",
            "下陈街道",
            "前所街道",
            "章安街道",
        ),
    ),
    District(
        331003,
        "黄岩区",
        121.262,
        28.650,
        0.12,
        (
            "东城街道",
            "西城街道",
            "南城街道",
            "北城街道",
            "新前街道",
            "江口街道",
            "澄江街道",
            "院桥镇",
        ),
    ),
    District(
        331004,
        "路桥区",
        121.365,
        28.582,
        0.14,
        (
            "路桥街道",
            "路南街道",
            "路北街道",
            "螺洋街道",
            "桐屿街道",
            "峰江街道",
            "金清镇",
            "新桥镇",
        ),
    ),
    District(
        331082,
        "临海市",
        121.145,
        28.858,
        0.14,
        (
            "古城街道",
            "大洋街道",
            "江南街道",
            "大田街道",
            "邵家渡街道",
            "杜桥镇",
            "东塍镇",
            "白水洋镇",
        ),
    ),
    District(
        331081,
        "温岭市",
        121.386,
        28.372,
        0.19,
        (
            "太平街道",
            "城东街道",
            "城西街道",
            "城北街道",
            "横峰街道",
            "泽国镇",
            "大溪镇",
            "松门镇",
            "箬横镇",
            "新河镇",
        ),
    ),
    District(
        331083,
        "玉环市",
        121.232,
        28.136,
        0.09,
        ("玉城街道", "坎门街道", "大麦屿街道", "楚门镇", "清港镇", "沙门镇"),
    ),
    District(
        331022,
        "三门县",
        121.395,
        29.105,
        0.05,
        ("海游街道", "沙柳街道", "珠岙镇", "健跳镇", "浦坝港镇"),
    ),
    District(
        331023,
        "天台县",
        121.007,
        29.142,
        0.06,
        ("赤城街道", "始丰街道", "福溪街道", "平桥镇", "白鹤镇"),
    ),
    District(
        331024,
        "仙居县",
        120.729,
        28.847,
        0.05,
        ("福应街道", "南峰街道", "安洲街道", "横溪镇", "白塔镇"),
    ),
)

#: Provinces that shop owners born elsewhere most often come from: 江西, 安徽, 河南, 贵州,
#: 四川, 湖南 (GB/T 2260 province prefixes).
MIGRANT_PROVINCES: tuple[str, ...] = ("36", "34", "41", "52", "51", "43")

ROADS = (
    "解放路",
    "中山路",
    "人民路",
    "东海大道",
    "市府大道",
    "开发大道",
    "青年路",
    "建设路",
    "文化路",
    "商城路",
    "工人路",
    "劳动路",
    "环城路",
    "江滨路",
    "银座街",
    "新华路",
    "腾达路",
    "机场路",
    "经中路",
    "广场路",
    "朝阳路",
    "复兴路",
    "学院路",
    "东环大道",
    "西环路",
    "北环路",
    "南官大道",
    "九龙大道",
    "横街",
    "兴业路",
    "工业大道",
    "创业路",
)

SURNAMES = (
    "王陈林李张徐叶郑黄金周杨应蒋朱吴赵潘何许梁胡郭罗高谢卢柯冯蔡沈陶颜施泮彭曹"
    "丁余任方鲍严戴夏钱章屈单洪"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志海斌红玲飞鹏辉林波宇浩晨"
    "欣怡佳俊峰云慧琴文丹亮荣昌富贵德义仁礼智信忠孝良美春秋冬雪梅兰菊松柏江河山岳"
)
TRADE_CHARS = (
    "鑫盛达华宏恒丰泰隆兴旺顺发源祥瑞福金宝德信诚和安康美佳嘉新远通海天宇星光明辉越"
    "腾飞凯博创联合力众益永昌荣富吉利欣悦乐春秋东南中江山川林森峰岭锦绣龙凤麒豪晟"
)
ENTERPRISE_SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
COOP_SUFFIX = "专业合作社"


@dataclass(frozen=True, slots=True)
class IndustryProfile:
    """How businesses of one GB/T 4754-2017 class look in the region."""

    code: str
    firm_word: str  # in an enterprise's or cooperative's name, e.g. 机械制造
    shop_word: str  # in an individual business's name, e.g. 面馆
    types: str  # e=enterprise, i=individual, c=coop
    share: float  # relative frequency among registered entities
    risk: float  # shift of latent soundness (negative: riskier)
    revenue: float  # typical monthly revenue of a small one, yuan
    kwh_per_k_yuan: float  # electricity per thousand yuan of revenue
    water: bool  # whether businesses of this class usually have a water account
    manufacturing: bool


INDUSTRIES: tuple[IndustryProfile, ...] = (
    IndustryProfile("0111", "粮食种植", "种粮户", "ic", 0.6, -0.1, 30_000, 8, True, False),
    IndustryProfile("0141", "蔬菜种植", "蔬菜种植场", "ic", 1.0, -0.1, 25_000, 8, True, False),
    IndustryProfile("0153", "柑橘种植", "果园", "ic", 1.4, 0.0, 35_000, 6, True, False),
    IndustryProfile("0321", "家禽养殖", "养鸡场", "ic", 0.6, -0.2, 40_000, 15, True, False),
    IndustryProfile("0411", "水产养殖", "养殖场", "ic", 0.8, -0.2, 50_000, 20, True, False),
    IndustryProfile("1311", "米业", "碾米厂", "ei", 0.4, 0.0, 120_000, 25, True, True),
    IndustryProfile("1819", "服饰", "服装加工厂", "ei", 1.5, -0.3, 150_000, 18, False, True),
    IndustryProfile("1952", "鞋业", "鞋厂", "ei", 0.8, -0.3, 160_000, 18, False, True),
    IndustryProfile("2319", "印刷包装", "印刷厂", "ei", 0.6, -0.1, 180_000, 30, False, True),
    IndustryProfile("2720", "药业", "药厂", "e", 0.3, 0.4, 900_000, 35, True, True),
    IndustryProfile("2927", "塑料制品", "塑料制品厂", "ei", 2.0, -0.2, 220_000, 45, False, True),
    IndustryProfile("3441", "泵业", "水泵厂", "ei", 1.5, 0.1, 300_000, 35, False, True),
    IndustryProfile("3525", "模具", "模具厂", "ei", 1.6, 0.0, 250_000, 40, False, True),
    IndustryProfile("3553", "缝制设备", "缝纫机配件厂", "e", 0.8, 0.0, 350_000, 30, False, True),
    IndustryProfile("3670", "汽车零部件", "汽配厂", "ei", 1.8, 0.1, 400_000, 40, False, True),
    IndustryProfile("3752", "摩托车配件", "摩配厂", "ei", 1.0, -0.1, 280_000, 40, False, True),
    IndustryProfile("5012", "装饰工程", "装修队", "ei", 2.0, -0.3, 120_000, 3, False, False),
    IndustryProfile(
        "5111", "农产品贸易", "农产品批发部", "eic", 1.4, -0.1, 200_000, 4, False, False
    ),
    IndustryProfile("5211", "百货", "百货店", "ei", 2.5, -0.2, 60_000, 6, False, False),
    IndustryProfile("5212", "超市", "超市", "ei", 2.0, -0.1, 150_000, 10, True, False),
    IndustryProfile("5213", "便利店", "便利店", "i", 5.0, -0.2, 40_000, 12, False, False),
    IndustryProfile("5232", "服装", "服装店", "ei", 5.0, -0.4, 35_000, 5, False, False),
    IndustryProfile("5281", "五金", "五金店", "i", 3.0, -0.1, 45_000, 4, False, False),
    IndustryProfile("5292", "电子商务", "网店", "ei", 3.0, -0.4, 80_000, 2, False, False),
    IndustryProfile("5431", "物流", "货运部", "ei", 2.0, -0.2, 130_000, 4, False, False),
    IndustryProfile("6020", "快递", "快递点", "ei", 1.2, -0.1, 90_000, 5, False, False),
    IndustryProfile("5920", "仓储", "仓库", "e", 0.5, 0.0, 110_000, 10, False, False),
    IndustryProfile("6130", "民宿", "民宿", "i", 1.2, -0.3, 30_000, 12, True, False),
    IndustryProfile("6210", "餐饮", "饭店", "ei", 6.0, -0.5, 80_000, 20, True, False),
    IndustryProfile("6220", "快餐", "快餐店", "i", 4.0, -0.4, 50_000, 22, True, False),
    IndustryProfile("6291", "小吃", "面馆", "i", 7.0, -0.5, 30_000, 25, True, False),
    IndustryProfile("6513", "软件", "软件工作室", "e", 1.0, 0.3, 160_000, 3, False, False),
    IndustryProfile("6531", "信息技术", "电脑店", "ei", 0.8, 0.2, 120_000, 3, False, False),
    IndustryProfile("7030", "房地产经纪", "房产中介", "ei", 1.2, -0.3, 70_000, 2, False, False),
    IndustryProfile("8040", "美发美容", "理发店", "i", 5.0, -0.3, 25_000, 10, True, False),
    IndustryProfile("8030", "洗染", "洗衣店", "i", 1.0, -0.1, 20_000, 15, True, False),
    IndustryProfile("8111", "汽车维修", "汽修店", "ei", 2.5, -0.1, 70_000, 8, True, False),
    IndustryProfile("8391", "职业技能培训", "培训部", "e", 0.8, -0.2, 60_000, 3, False, False),
    IndustryProfile("8425", "门诊", "诊所", "ei", 0.8, 0.4, 90_000, 5, True, False),
)

BANKS: tuple[tuple[str, str], ...] = (
    ("TZB", "台州银行"),
    ("TLB", "浙江泰隆商业银行"),
    ("MTB", "浙江民泰商业银行"),
    ("JJRCB", "台州椒江农村商业银行"),
    ("WLRCB", "浙江温岭农村商业银行"),
    ("ABC", "中国农业银行台州分行"),
    ("ICBC", "中国工商银行台州分行"),
    ("PSBC", "中国邮政储蓄银行台州分行"),
)
LOAN_PRODUCTS = ("小微信用贷", "个体经营贷", "税易贷", "科创贷", "丰收小额贷", "抵押经营贷")

ABNORMAL_REASONS = (
    "未依照规定的期限公示年度报告",
    "通过登记的住所或者经营场所无法联系",
    "公示企业信息隐瞒真实情况、弄虚作假",
    "未在责令的期限内公示有关企业信息",
)
PENALTY_AUTHORITIES = ("市场监督管理局", "税务局", "生态环境局", "应急管理局", "综合行政执法局")
HONOR_TAGS = ("专精特新", "高新技术企业", "科技型中小企业", "守合同重信用")
SUPPLY_PLATFORMS = ("台州产业链金融平台", "椒江供应链服务平台")

FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
CHINESE_DIGITS = str.maketrans("0123456789", "〇一二三四五六七八九")
