"""Synthetic demo datasets: a Gansu population register and an enterprise register, written by DuckDB itself.

Every value is derived from the row number through ``hash(i, stream)``, so a given size always gives the
same data whatever the thread count. ID numbers carry valid GB 11643 check digits and are unique (the
sequence code is numbered within county and birth date, odd for men as the standard says); social credit
codes carry valid GB 11714 and GB 32100 check characters. Nothing here is a real person or enterprise.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pubdata.opdomain.identifiers import RIC_WEIGHTS
from pubdata.opdomain.schema import Column, Dataset, DisclosureConfig, Grade, Role, Table, TableKind
from pubdata.reference.regions import GANSU, regions

G, I, C = Grade.GENERAL, Grade.IMPORTANT, Grade.CORE  # noqa: E741
D, Q, S, M, DIM, P = (
    Role.DIRECT_IDENTIFIER, Role.QUASI_IDENTIFIER, Role.SENSITIVE, Role.MEASURE, Role.DIMENSION, Role.PUBLIC,
)

POPULATION = Table(
    "population",
    (
        Column("id_number", "VARCHAR", D, I, "公民身份号码"),
        Column("name", "VARCHAR", D, I, "姓名"),
        Column("mobile", "VARCHAR", D, I, "手机号码"),
        Column("gender", "VARCHAR", Q, G, "性别"),
        Column("birth_date", "DATE", Q, I, "出生日期"),
        Column("age", "INTEGER", Q, G, "年龄"),
        Column("county_code", "VARCHAR", Q, G, "常住县区代码"),
        Column("city_code", "VARCHAR", DIM, G, "常住市州代码"),
        Column("education", "VARCHAR", DIM, G, "受教育程度"),
        Column("marital_status", "VARCHAR", DIM, G, "婚姻状况"),
        Column("insured", "BOOLEAN", DIM, G, "参加基本医疗保险"),
        Column("household_size", "INTEGER", M, G, "家庭人口数"),
        Column("annual_income", "DOUBLE", S, I, "年收入（元）"),
        Column("chronic_disease", "VARCHAR", S, I, "慢性病"),
        Column("classified_flag", "BOOLEAN", S, C, "涉密人员标记"),
    ),
    key="id_number",
    label="人口基础信息（合成）",
)
ENTERPRISE = Table(
    "enterprise",
    (
        Column("uscc", "VARCHAR", D, G, "统一社会信用代码"),
        Column("name", "VARCHAR", D, G, "企业名称"),
        Column("legal_rep", "VARCHAR", D, I, "法定代表人"),
        Column("county_code", "VARCHAR", DIM, G, "注册地县区代码"),
        Column("city_code", "VARCHAR", DIM, G, "注册地市州代码"),
        Column("industry", "VARCHAR", DIM, G, "行业门类（GB/T 4754）"),
        Column("established", "DATE", Q, G, "成立日期"),
        Column("status", "VARCHAR", DIM, G, "登记状态"),
        Column("registered_capital", "DOUBLE", M, G, "注册资本（万元）"),
        Column("employees", "INTEGER", M, G, "从业人数"),
        Column("revenue", "DOUBLE", S, I, "营业收入（万元）"),
        Column("tax_paid", "DOUBLE", S, I, "纳税额（万元）"),
    ),
    key="uscc",
    label="法人单位基础信息（合成）",
)
REGION = Table(
    "region",
    (
        Column("code", "VARCHAR", P, G, "行政区划代码"),
        Column("name", "VARCHAR", P, G, "名称"),
        Column("level", "VARCHAR", P, G, "级别"),
        Column("parent_code", "VARCHAR", P, G, "上级代码"),
    ),
    kind=TableKind.LOOKUP,
    key="code",
    label="甘肃省行政区划（GB/T 2260）",
)


def demo_dataset(disclosure: DisclosureConfig | None = None) -> Dataset:
    return Dataset("gansu-synthetic", (POPULATION, ENTERPRISE, REGION), disclosure or DisclosureConfig(),
                   "甘肃省合成人口与法人数据（演示）")


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱"
    "妹霞香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君"
    "琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜"
    "可姬舒影荔枝思丽"
)
EDUCATION = ["未上学", "小学", "初中", "高中", "大学专科", "大学本科", "研究生"]
MARITAL = ["未婚", "有配偶", "离婚", "丧偶"]
DISEASES = ["高血压", "糖尿病", "慢性阻塞性肺疾病", "冠心病", "慢性肾病"]
INDUSTRIES = list("ABCDEFGHIJKLMNOPQRST")
STATUSES = ["存续", "存续", "存续", "存续", "吊销", "注销"]
REFERENCE_DATE = "2025-12-31"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _counties() -> list[str]:
    """Gansu county codes repeated by a fixed pseudo-weight (Lanzhou districts and seats of cities heavier)."""
    out: list[str] = []
    for i, r in enumerate(regions(level="county")):
        if not r.code.startswith(GANSU[:2]):
            continue
        weight = 2 + (i * 7) % 9 + (12 if r.code.startswith("6201") else 0) + (4 if r.code.endswith("02") else 0)
        out.extend([r.code] * weight)
    return out


def _u(stream: int) -> str:
    """A uniform number in [0, 1) from the row number and a stream id."""
    return f"((hash(i, {stream}) % 1000000007) / 1000000007.0)"


def _pick(values: list[str], stream: int) -> str:
    return f"{_sql_list(values)}[1 + (hash(i, {stream}) % {len(values)})::INTEGER]"


def _lookup(con: duckdb.DuckDBPyConnection, name: str, values: list[str]) -> int:
    """A temp table ``name(idx, v)``: joining on ``idx = hash % n`` is far cheaper than indexing a long list
    literal on every row."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} (idx UBIGINT, v VARCHAR)")
    con.executemany(f"INSERT INTO {name} VALUES (?, ?)", list(enumerate(values)))
    return len(values)


def _check_digit_sql(body: str) -> str:
    total = " + ".join(f"CAST(substr({body}, {k + 1}, 1) AS INTEGER) * {w}" for k, w in enumerate(RIC_WEIGHTS))
    return f"substr('10X98765432', (({total}) % 11 + 1)::BIGINT, 1)"


def write_population(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    nc = _lookup(con, "pick_county", _counties())
    ns = _lookup(con, "pick_surname", list(SURNAMES))
    ng = _lookup(con, "pick_given", list(GIVEN))
    normal = f"(sqrt(-2 * ln(1 - {_u(6)})) * cos(2 * pi() * {_u(7)}))"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE person_base AS
        SELECT i, c.v AS county_code,
               least(99, floor(pow({_u(2)}, 1.15) * 96))::INTEGER AS age,
               (hash(i, 3) % 365)::INTEGER AS day_offset,
               hash(i, 4) % 2 = 0 AS male,
               {normal} AS z
        FROM range({rows}) t(i) JOIN pick_county c ON c.idx = hash(i, 1) % {nc}
    """)
    body = "(county_code || strftime(birth_date, '%Y%m%d') || lpad(seq::VARCHAR, 3, '0'))"
    con.execute(f"""
        CREATE OR REPLACE TABLE population AS
        WITH dated AS (
            SELECT *, (DATE '{REFERENCE_DATE}' - CAST(age * 365.25 + day_offset AS INTEGER)) AS birth_date
            FROM person_base
        ), numbered AS (
            SELECT *, (2 * row_number() OVER (PARTITION BY county_code, birth_date, male ORDER BY i)
                       - CASE WHEN male THEN 1 ELSE 2 END) AS seq
            FROM dated
        )
        SELECT {body} || {_check_digit_sql(body)} AS id_number,
               sn.v || g1.v || CASE WHEN hash(i, 10) % 3 = 0 THEN '' ELSE g2.v END AS name,
               CASE WHEN age >= 16 THEN '1' || {_pick(list("35789"), 12)}
                    || lpad((hash(i, 13) % 1000000000)::VARCHAR, 9, '0') END AS mobile,
               CASE WHEN male THEN '男' ELSE '女' END AS gender,
               birth_date,
               (date_diff('year', birth_date, DATE '{REFERENCE_DATE}')
                 - CASE WHEN strftime(birth_date, '%m%d') > '{REFERENCE_DATE[5:7]}{REFERENCE_DATE[8:]}'
                        THEN 1 ELSE 0 END)::INTEGER AS age,
               county_code,
               substr(county_code, 1, 4) || '00' AS city_code,
               CASE WHEN age < 7 THEN '未上学'
                    ELSE {_sql_list(EDUCATION)}[1 + least(6, (hash(i, 14) % 7)::INTEGER)] END AS education,
               CASE WHEN age < 20 THEN '未婚' ELSE {_pick(MARITAL, 15)} END AS marital_status,
               hash(i, 16) % 20 <> 0 AS insured,
               (1 + hash(i, 17) % 6)::INTEGER AS household_size,
               CASE WHEN age < 18 THEN 0.0
                    ELSE round(exp(10.4 + 0.65 * z) * CASE WHEN age >= 60 THEN 0.55 ELSE 1 END, 2) END
                 AS annual_income,
               CASE WHEN age >= 35 AND hash(i, 18) % 100 < age / 3 THEN {_pick(DISEASES, 19)} END AS chronic_disease,
               hash(i, 20) % 1000 = 0 AS classified_flag
        FROM numbered
        JOIN pick_surname sn ON sn.idx = hash(i, 8) % {ns}
        JOIN pick_given g1 ON g1.idx = hash(i, 9) % {ng}
        JOIN pick_given g2 ON g2.idx = hash(i, 11) % {ng}
        ORDER BY i
    """)
    con.execute("DROP TABLE person_base")


def _uscc_sql() -> str:
    """GB 32100 code: 9 (工商) 1 (企业) + county + GB 11714 organisation code (8 digits + check) + check."""
    org_weights = [3, 7, 9, 10, 5, 8, 4, 2]
    org = "lpad(((i * 7919 + 12345) % 100000000)::VARCHAR, 8, '0')"  # unique for i < 10^8
    org_sum = " + ".join(f"CAST(substr({org}, {k + 1}, 1) AS INTEGER) * {w}" for k, w in enumerate(org_weights))
    org_check = f"(11 - ({org_sum}) % 11)"
    org_char = f"CASE {org_check} WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE {org_check}::VARCHAR END"
    body = f"('91' || county_code || {org} || {org_char})"
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [pow(3, k, 31) for k in range(17)]
    total = (
        f"list_sum(list_transform(range(17), lambda k: (strpos('{alphabet}', substr({body}, k + 1, 1)) - 1)"
        f" * {weights}[k + 1]))"
    )
    return f"{body} || substr('{alphabet}', ((31 - ({total}) % 31) % 31 + 1)::BIGINT, 1)"


def write_enterprises(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    nc = _lookup(con, "pick_county", _counties())
    words = ["金", "华", "陇", "丝路", "河西", "黄河", "祁连", "敦煌", "飞天", "兴", "达", "盛", "源", "泰", "恒"]
    kinds = ["商贸", "农业科技", "建设工程", "物流", "新能源", "文化旅游", "食品", "信息技术", "矿业", "餐饮"]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE enterprise_base AS
        SELECT i, c.v AS county_code
        FROM range({rows}) t(i) JOIN pick_county c ON c.idx = hash(i, 30) % {nc}
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE enterprise AS
        SELECT {_uscc_sql()} AS uscc,
               '甘肃' || {_pick(words, 32)} || {_pick(words, 33)} || {_pick(kinds, 34)}
                 || '有限公司' || i::VARCHAR AS name,
               {_sql_list(list(SURNAMES))}[1 + (hash(i, 35) % {len(SURNAMES)})::INTEGER]
                 || {_sql_list(list(GIVEN))}[1 + (hash(i, 36) % {len(GIVEN)})::INTEGER] AS legal_rep,
               county_code,
               substr(county_code, 1, 4) || '00' AS city_code,
               {_pick(INDUSTRIES, 37)} AS industry,
               DATE '{REFERENCE_DATE}' - (hash(i, 38) % 11000)::INTEGER AS established,
               {_pick(STATUSES, 39)} AS status,
               round(pow(10, 1 + 3 * {_u(40)}), 2) AS registered_capital,
               (1 + floor(pow({_u(41)}, 4) * 2000))::INTEGER AS employees,
               round(pow(10, 1 + 4 * {_u(42)}), 2) AS revenue,
               round(pow(10, 4 * {_u(42)}) * (0.02 + 0.06 * {_u(43)}), 2) AS tax_paid
        FROM enterprise_base ORDER BY i
    """)
    con.execute("DROP TABLE enterprise_base")


def write_regions(con: duckdb.DuckDBPyConnection) -> None:
    rows = [
        (r.code, r.name, r.level, r.parent or "")
        for level in ("prefecture", "county")
        for r in regions(level=level)
        if r.code.startswith(GANSU[:2])
    ]
    con.execute("CREATE OR REPLACE TABLE region (code VARCHAR, name VARCHAR, level VARCHAR, parent_code VARCHAR)")
    con.executemany("INSERT INTO region VALUES (?, ?, ?, ?)", rows)


def write_demo(path: Path | str, *, persons: int = 1_000_000, enterprises: int = 100_000) -> Dataset:
    """Create (or replace) the demo DuckDB file at ``path`` and return its dataset description."""
    with duckdb.connect(str(path)) as con:
        con.execute("SET enable_progress_bar = false")
        write_regions(con)
        write_population(con, persons)
        write_enterprises(con, enterprises)
        con.execute("CHECKPOINT")
    return demo_dataset()
