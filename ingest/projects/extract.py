"""Investment projects named in one article: name, company, total investment, stage now, place, evidence.

Patterns over the normalized text (ingest.normalize), read unit by unit (a sentence or a 「；」 clause):

* a **name** is a run ending in 项目 whose left edge is the nearest linker (的, 投资建设, 签约, 开工…), a company
  suffix or a full place name; names made only of generic words (重大项目, 亿元以上项目) or counted (228个项目)
  are round-ups, not projects.  A list "A、B、C等3个百亿级项目" names its items.
* the **company** is the nearest "…有限公司/集团" to the left of the name in the same clause (or "由…投资" to
  its right, or 该公司 for the article's last company); else a lexicon company entity just before the name.
* the **amount** is the 总投资 figure in the project's own context (万元 → 亿元); a phase figure (一期投资),
  已完成投资 or 环保投资 never, 固定资产投资 only when nothing else is given.  "该项目总投资…" in a later
  sentence belongs to the last project named.
* the **stage** is the most advanced stage word in the project's context that is not a plan (预计/计划/力争…
  投产) or history (从签约到开工); else the title's.
* the **place** is the most specific gazetteer place in the project's context, else the title's, else the
  lead's.  Places inside company names do not count.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import cache

from ingest.normalize import normalize_text
from ingest.projects.places import Gazetteer, PlaceHit, load_gazetteer

STAGES = ("planned", "signed", "started", "completed")
STAGE_ZH = {
    "planned": "规划/洽谈",
    "signed": "签约",
    "started": "开工",
    "completed": "竣工/投产",
}  # as users read them
STAGE_ORDER = {s: i for i, s in enumerate(STAGES)}

_UNIT_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*")
_CLAUSE_SEP = "，,、：:（）()"
_NAME_STOP = set("，,。；;：:！？!?、“”‘’\"'《》〈〉【】[]（）()\n…—")
# Left edges of a name: the name starts right after the last of these in its run.
_LINKERS = (
    "投资建设的",
    "投资兴建的",
    "投资建设",
    "投资的",
    "建设的",
    "实施的",
    "引进的",
    "签约的",
    "开工的",
    "竣工的",
    "投产的",
    "落户的",
    "推进的",
    "建成的",
    "的",
    "投资",
    "兴建",
    "建设",
    "签约",
    "签署",
    "开工",
    "奠基",
    "竣工",
    "投产",
    "实施",
    "引进",
    "推进",
    "落户",
    "位于",
    "在",
    "由",
    "将",
    "为",
    "是",
    "了",
    "就",
    "对",
    "共",
    "其中",
    "此外",
    "另外",
    "同时",
    "以及",
    "包括",
    "举行",
    "启动",
    "开展",
    "观摩",
    "察看",
    "参观",
    "考察",
    "洽谈",
    "规划",
    "拟建",
    "新建",
    "续建",
    "名称",
    "主体",
    "保障",
    "解决",
    "宣布",
    "加快",
    "谋划",
    "推动",
    "支持",
    "服务好",
    "暨",
    "深入",
    "此次",
    "这次",
    "本次",
    "还有",
    "看到",
    "随着",
    "招引",
    "换取",
    "论证",
    "落实到",
    "落实",
    "力争",
    "通过",
    "着力",
    "大力",
    "持续",
    "切实",
    "成立",
    "确保",
    "保证",
    "推行",
    "深化",
    "加大",
    "投入到",
    "抓",
    "把",
    "项目",
    "协调",
    "公布",
    "配备",
    "跟踪",
    "围绕",
    "聚焦",
    "抓好",
    "加强",
    "完成",
    "参加",
    "出席",
    "见证",
    "会见",
    "介绍",
)
_COMPANY_SUFFIX = r"(?:股份有限公司|有限责任公司|集团有限公司|有限公司|集团公司|集团|公司)"
_COMPANY_RE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9（）()·]{2,30}?" + _COMPANY_SUFFIX)
_COMPANY_LEAD = re.compile(
    r"^.*(?:的|由|与|同|和|在|是|为|向|对|引进|签约|开工|竣工|投产|其中|此外|另外|以及|现场|会上|同日|中，|共同)"
)
_BY_COMPANY_RE = re.compile(
    r"^由([\u4e00-\u9fffA-Za-z0-9（）()·]{2,30}?" + _COMPANY_SUFFIX + r")(?:投资|建设|实施)"
)
_GENERIC = re.compile(
    r"(?:重大|重点|产业|签约|开工|竣工|投产|在建|新建|续建|新开工|新竣工|招商|引资|亿元以上|省级|市级|省|市|区|县|"
    r"该|此|本|这些|这个|这批|一批|一个|龙头|好|优质|外资|内资|制造业|服务业|现代|工业|配套|民生|实事|功能性|观摩|"
    r"在谈|储备|旗舰型|基地型|标杆|高精尖|补链|延链|强链|产业链|关联|上下游|集群|343|创新|优势|新兴|特色|各类|"
    r"其他|其余|单个|同类|首批|批|所有|全部|城建|工程|民营|基础设施|建设|实施|计划|年度|亿元|万元|级|百亿|千亿|"
    r"十亿|大|小|首|更多|更|多|前期|后续|二期|三期|一期|首期|新|老|示范|试点|的|和|及|、|等|类|\d+|[一二三四五六七八九十两百千]+|"
    r"个|项|以上|以下|合作|投资|落地|企业|科技|民生|各|全市|全区|全县|同期|入选|清单|省市|国家|政府|这|那|"
    r"高质量|发展|转型|改造|智能化|数字化|技改|更新|重大产业|产业化|年|季度|春季|夏季|秋季|冬季|上半年|下半年|"
    r"前三季度|今年|去年|明年|全年|单位|各单位|服务业|文旅|民生|社会事业|城建|农业|乡村振兴|面上|非凡|亮点)+"
)
_COUNTED = re.compile(r"\d+个|[一二三四五六七八九十两百千]+个|\d+项")
_NUM = r"(?:\d+|[一二三四五六七八九十两百千]+)"
# A round-up: "228个项目", "签约亿元以上项目31个" (not "不到3个月").
_ROUNDUP_RE = re.compile(rf"{_NUM}(?:个|项)[^，,。；]{{0,12}}项目|项目{_NUM}(?:个|项)")
_MIN_CORE = 4
_CEREMONY_RE = re.compile(r"(?:集中)?(?:签约|开工|竣工|投产|推介|对接)(?:仪式|活动|大会|会)")
_SITE_RE = re.compile(r"(?:建设地点|项目地点|项目地址|项目选址|选址|坐落于|位于)")
# A park announced as such: "规划建设徐州氢能产业园".
_PARK_NAME_RE = re.compile(
    r"(?:规划建设|拟建设|拟建|筹建|谋划建设)(?P<name>[\u4e00-\u9fffA-Za-z0-9]{2,16}?(?:产业园|产业基地|科技园))"
)

_AMOUNT_RE = re.compile(
    r"(?P<kind>规划总投资|计划总投资|拟总投资|协议总投资|项目总投资|总投资额|总投资|投资总额|固定资产投资总额|"
    r"固定资产投资|一期投资|首期投资|二期投资|三期投资|一期总投资|环保投资|已完成投资|完成投资|累计完成投资|"
    r"累计投资|计划投资|拟投资|协议投资|投资)"
    r"(?:额)?(?:约|超过|超|达到|达|近|为|逾|高达|共计|合计)?\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>亿|万)(?:元|美元)"
)
_AMOUNT_BEFORE_NAME = re.compile(r"总投资(?:约|超过|超|达|近|为)?\s*(\d+(?:\.\d+)?)\s*(亿|万)元的$")
_CLASS_AMOUNT = re.compile(r"(百|千|\d+)亿级")

_STAGE_WORDS = {
    "completed": (
        "竣工",
        "建成",
        "投产",
        "试生产",
        "试产",
        "量产",
        "上线",
        "投用",
        "投入使用",
        "投入运营",
        "下线",
        "交付使用",
        "运营",
    ),
    "started": (
        "开工",
        "奠基",
        "在建",
        "封顶",
        "设备安装",
        "开建",
        "施工",
        "加快建设",
        "加紧建设",
        "建设中",
        "正在建设",
        "推进",
        "复工",
        "进场",
        "桩基",
        "吊装",
        "动工",
    ),
    "signed": ("签约", "落户", "签署", "签订", "落地"),
    "planned": (
        "规划建设",
        "规划",
        "拟建",
        "拟在",
        "拟投资",
        "洽谈",
        "环境影响评价",
        "环评",
        "公示",
        "谋划",
        "在谈",
        "意向",
    ),
}
# A word ending in 产 must not run into 产业/产品/产线 (泉投产业, 测试产线).
_STAGE_RE = re.compile(
    "|".join(
        re.escape(w) + ("(?![业品线值能])" if w.endswith("产") else "")
        for w in sorted((w for ws in _STAGE_WORDS.values() for w in ws), key=len, reverse=True)
    )
)
_STAGE_OF = {w: s for s, ws in _STAGE_WORDS.items() for w in ws}
# A stage word after these (in its clause) is a plan or a condition, not what is happening now.
_FUTURE_RE = re.compile(
    r"(?:预计|计划|力争|将于|将|拟于|争取|确保|有望|明年|下半年|年底|年内|推动|早日|早|尽快|即将|准备|待|力促|"
    r"加快推进|加快|启动|目标|以便|实现|后续|下一步|才能|就能|推进项目)[^，。；]{0,8}$"
)
_AFTER_RE = re.compile(r"^(?:后|以后|之后|前|以来|到|至)")  # 建成后, 签约到开工: a condition or a span
# "从签约到试生产，用时仅半年": the span's start is history (skipped by _AFTER_RE), its end is where it stands.
_HISTORY_RE = re.compile(r"(?:去年|此前|曾|先后|早在|前期|此次|自)[^，。；]{0,6}$")

_LIST_RE = re.compile(
    r"(?P<items>(?:[^，。；：、“”]{3,30}、)+[^，。；：、“”]{3,30})等(?P<n>\d+|[二三四五六七八九十两]+)个"
    r"(?P<mod>[^，。；、]{0,10}?)项目"
)
_CN_NUM = {"二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_DISTRIBUTE_RE = re.compile(r"(?:(投产|竣工|建成|在建|开工|签约|落户)一个[、，]?){2,}")


@dataclass
class ProjectFact:
    name: str
    company: str | None = None
    amount_yi: float | None = None
    stage: str | None = None
    place: str | None = None
    evidence: str = ""
    clusters: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("clusters")
        return out


@dataclass
class _Mention:
    unit: int
    start: int  # offsets in the unit's text
    end: int
    name: str
    in_title: bool = False
    company: str | None = None
    amount: tuple[int, float] | None = None  # (priority, value): lower priority wins
    stage: str | None = None
    stage_hint: str | None = None
    places: list[PlaceHit] = field(default_factory=list)
    evidence: str = ""
    listed: bool = False
    follows: str = ""  # the text right after the name
    class_amount: float | None = None  # from a size class (百亿级), used when no figure is stated


@cache
def _company_entities() -> tuple[str, ...]:
    """Company entities of the 343 lexicon (parks and project words excluded), longest first."""
    from ingest.classify import load_lexicon

    lexicon = load_lexicon()
    names = {
        lexicon.display.get(term, term)
        for term, entries in lexicon.cluster_entries.items()
        for e in entries
        if e.kind == "entities" and e.weight > 0 and not term.endswith(("园", "谷", "基地", "区"))
    }
    return tuple(sorted((n for n in names if len(n) >= 2), key=len, reverse=True))


@cache
def _category_names() -> frozenset[str]:
    """The clusters' own names (绿色低碳能源, 安全应急): "X项目" with X one of them is a category, not a name."""
    from ingest.classify import load_lexicon

    lexicon = load_lexicon()
    return frozenset(
        term for term, entries in lexicon.cluster_entries.items() for e in entries if e.kind == "name"
    )


def extract_projects(title: str, text: str, classification: object | None = None) -> list[ProjectFact]:
    """The projects `title` and `text` name individually (traditional or simplified), in order of appearance.

    `classification` (ingest.classify.Classification) gives each project the article's clusters whose terms
    occur in its evidence, or the article's main clusters.
    """
    gaz = load_gazetteer()
    title_n = _norm(title or "")
    display_units = _units(text or "")
    units = [_norm(u) for u in display_units]
    # Names and evidence are copied from the text as written when normalization kept its length (it does
    # for traditional characters); otherwise the normalized text is the copy.
    originals = [d if len(d) == len(u) else u for d, u in zip(display_units, units, strict=True)]

    mentions: list[_Mention] = []
    consumed: dict[int, list[tuple[int, int]]] = {}
    for ui, unit in enumerate(units):
        mentions.extend(_list_mentions(ui, unit, originals[ui], consumed, gaz))
    every = list(mentions)
    parks: set[str] = set()
    current: _Mention | None = None
    last_company: str | None = None
    for ui, unit in enumerate(units):
        found = [m for m in mentions if m.unit == ui]
        named = _named_mentions(ui, unit, gaz, consumed.get(ui, []), parks)
        parks.update(m.name for m in named if not m.name.endswith("项目"))
        for m in named:
            m.name = originals[ui][m.start : m.end]
        found = sorted(found + named, key=lambda m: m.start)
        every.extend(named)
        bare = _bare_reference(unit)
        if not found:
            # "该项目总投资100亿元" refers to the last project named; a round-up ("31个项目") ends that.
            if _ROUNDUP_RE.search(unit):
                current = None
            if current is not None and _SITE_RE.search(unit):  # "项目建设地点位于新沂高新区"
                current.places += [h for h in gaz.find(unit) if not _inside_company(unit, h)]
            if current is not None and bare:
                _fill_from_reference(current, unit)
            last_company = _last_company(unit) or last_company
            continue
        places = [h for h in gaz.find(unit) if not _inside_company(unit, h)]
        for i, m in enumerate(found):
            left_from = _split_point(unit, found[i - 1].end, m.start) if i else 0
            right_to = _split_point(unit, m.end, found[i + 1].start) if i + 1 < len(found) else len(unit)
            left, right = unit[left_from : m.start], unit[m.end : right_to]
            if not m.listed:
                m.company = _company(left, right, last_company, unit)
                m.amount = _amount(left, right) or ((3, m.class_amount) if m.class_amount else None)
                m.stage = _stage(left, right)
            m.places = [
                h for h in places if left_from <= h.start < right_to and not (m.start <= h.start < m.end)
            ]
            m.places += [h for h in places if m.start <= h.start < m.end and h.cuts_names]
            m.evidence = originals[ui][left_from:right_to].strip("，,、；;。 ")
            last_company = m.company or last_company
        for i in range(len(found) - 2, -1, -1):
            # "A项目、B项目也在分会场开工": the items of a list share its predicate.
            a, b = found[i], found[i + 1]
            between = unit[a.end : b.start]
            if re.match(r"\s*(?:、|和|及|与|以及)[^，,。；]*$", between):
                a.stage = a.stage or b.stage
                b.places = b.places or a.places  # "在X产业园内，A项目、B项目同时竣工投产"
        current = found[-1]
        if _ROUNDUP_RE.search(unit[found[-1].end :]):
            current = None
    projects = _merge_in_article(every)
    return _finish(projects, title_n, units, gaz, classification)


_ASCII_PUNCT = str.maketrans({";": "；", ":": "：", "(": "（", ")": "）", "!": "！", "?": "？"})
_ASCII_COMMA = re.compile(r"(?<!\d),|,(?!\d)")


def _norm(text: str) -> str:
    """normalize_text(), with the full-width punctuation NFKC turned to ASCII put back (one character for
    one, so offsets still point into the text as written): the patterns read Chinese punctuation."""
    return _ASCII_COMMA.sub("，", normalize_text(text).translate(_ASCII_PUNCT))


def _units(text: str) -> list[str]:
    out = []
    for para in text.split("\n"):
        for m in _UNIT_RE.finditer(para.strip()):
            if m.group().strip():
                out.append(m.group().strip())
    return out


def _split_point(unit: str, a: int, b: int) -> int:
    """Where the context of the project ending at `a` gives way to the one starting at `b`."""
    cut = max(unit.rfind(sep, a, b) for sep in _CLAUSE_SEP)
    return cut + 1 if cut >= 0 else b


def _inside_company(unit: str, hit: PlaceHit) -> bool:
    if hit.place.rank >= 2:
        return False  # companies are named after cities and counties, not zones: 新沂高新区江苏…有限公司
    tail = unit[hit.end : hit.end + 30]
    m = re.match(r"[\u4e00-\u9fffA-Za-z0-9（）()]{0,24}?" + _COMPANY_SUFFIX, tail)
    return bool(m) and not re.search(r"[的在由与和、]", m.group())


# ------------------------------------------------------------------------------------------------ names


def _named_mentions(
    ui: int, unit: str, gaz: Gazetteer, skip: list[tuple[int, int]], parks: set[str]
) -> list[_Mention]:
    cuts = sorted({h.end for h in gaz.find(unit) if h.cuts_names})
    out = []
    for m in re.finditer("项目", unit):
        end = m.end()
        if any(a <= m.start() < b for a, b in skip):
            continue
        if re.match(rf"{_NUM}(?:个|项)", unit[end:]):
            continue  # "新签约储能电池项目6个": a count of projects of a kind
        start = m.start()
        while start > 0 and unit[start - 1] not in _NAME_STOP:
            start -= 1
        run = unit[start : m.start()]
        begin = start + _left_edge(run)
        for cut in cuts:
            if begin < cut <= m.start():
                begin = cut
        company = _COMPANY_RE.search(unit, begin, m.start())
        while company:
            begin = company.end()
            company = _COMPANY_RE.search(unit, begin, m.start())
        name = unit[begin:end]
        if re.match(r"(?:一批|一些|多个|若干|部分|各类|一系列)", name):
            continue  # an unnamed group ("一批电动车零部件项目")
        cls = _CLASS_AMOUNT.match(name)
        name = re.sub(r"^(?:[百千]|\d+)亿级|^(?:一个|这个|那个)", "", name)
        begin = end - len(name)
        if not _is_named(name[:-2]):
            continue
        mention = _Mention(ui, begin, end, name, follows=unit[end : end + 8])
        if cls:  # "百亿级长城汽车核心零部件项目": the size class is the only figure given
            mention.class_amount = _class_value(cls)
        out.append(mention)
    for m in _PARK_NAME_RE.finditer(unit):
        if not any(a <= m.start("name") < b for a, b in skip):
            out.append(_Mention(ui, m.start("name"), m.end("name"), m.group("name")))
    for park in parks:  # a park announced earlier, named again ("徐州氢能产业园规划面积…")
        for m in re.finditer(re.escape(park), unit):
            if not any(o.start <= m.start() < o.end for o in out):
                out.append(_Mention(ui, m.start(), m.end(), park))
    return sorted(out, key=lambda m: m.start)


def _left_edge(run: str) -> int:
    best = 0
    for word in _LINKERS:
        i = run.rfind(word)
        if i >= 0 and i + len(word) > best:
            best = i + len(word)
    return best


def _is_named(core: str) -> bool:
    core = core.strip()
    if len(core) < _MIN_CORE or _COUNTED.search(core) or "等" in core or core.endswith(("和", "及", "与")):
        return False  # counted, or a list ("数字经济创新基地等项目", "外出频次和项目")
    if _GENERIC.fullmatch(core) or re.search(r"(?:产业|重大|重点|优势|新兴|特色)$", core):
        return False  # "数字经济产业项目", "2026年春季重大项目": a category or a round-up
    rest = _GENERIC.sub("", core).lower()
    cats = _category_names()
    if len(rest) < 2 or core.lower() in cats:
        return False
    return not any(c.endswith(rest) for c in cats)  # "首个30亿元以上新材料项目": a category


def _bare_reference(unit: str) -> bool:
    return bool(re.search(r"(?:该|此|这一|这个|整个)?项目(?!组|部|方|单位|负责人)", unit))


def _class_value(m: re.Match[str]) -> float:
    return {"百": 100.0, "千": 1000.0}.get(m.group(1)) or float(m.group(1))


def _list_mentions(ui: int, unit: str, original: str, consumed: dict, gaz: Gazetteer) -> list[_Mention]:
    """'A、B、C等3个百亿级项目“投产一个、在建一个、签约一个”': each item is a project."""
    out: list[_Mention] = []
    for m in _LIST_RE.finditer(unit):
        n_raw = m.group("n")
        n = int(n_raw) if n_raw.isdigit() else _CN_NUM.get(n_raw, 0)
        items_text = m.group("items")
        offset = m.start("items")
        pieces = items_text.split("、")
        if not 2 <= len(pieces) <= n:
            continue
        cls = _CLASS_AMOUNT.search(m.group("mod"))
        tail = unit[m.end() : m.end() + 40]
        dist = _DISTRIBUTE_RE.match(tail.lstrip('“"'))
        stages = re.findall(r"(投产|竣工|建成|在建|开工|签约|落户)一个", dist.group()) if dist else []
        if not cls and not stages:
            continue  # a plain list of names without a project figure or stage is not a project list
        general = _stage("", tail) if not stages else None
        pos = offset
        items = []
        places = {h.start: h.end for h in gaz.find(unit) if h.cuts_names}
        for piece in pieces:
            start = pos + (len(piece) - len(piece.lstrip()))
            start = places.get(start, start)  # "经开区甲乙新材料一体化": the place is not part of the name
            items.append((start, pos + len(piece)))
            pos += len(piece) + 1
        if any(end - start < 4 for start, end in items):
            continue
        for k, (start, end) in enumerate(items):
            mention = _Mention(ui, start, end, original[start:end], listed=True)
            if cls:
                mention.amount = (3, _class_value(cls))
            if len(stages) == len(items):
                mention.stage = _STAGE_OF[stages[k]]
            else:
                mention.stage = general
            mention.company = next((c for c in _company_entities() if unit.startswith(c, start)), None)
            out.append(mention)
        consumed.setdefault(ui, []).append((m.start(), m.end()))
    return out


# ------------------------------------------------------------------------------------------------ facts


def _company(left: str, right: str, last: str | None, unit: str) -> str | None:
    found = list(_COMPANY_RE.finditer(left))
    if found:
        raw = found[-1].group()
        lead = _COMPANY_LEAD.match(raw)
        name = raw[lead.end() :] if lead else raw
        name = re.sub(r"^(?:[\u4e00-\u9fff]{0,6}?(?:区|县|市)(?:开工|签约|引进|的)+)", "", name)
        if len(name) >= 4 and not name.startswith(("该公司", "公司", "集团")):
            return name
    by = _BY_COMPANY_RE.match(right.lstrip("，,"))
    if by:
        return by.group(1)
    if re.search(r"该公司|该企业|企业与|公司与", left) and last:
        return last
    for entity in _company_entities():
        if left.endswith(entity):
            return entity
    return None


def _last_company(unit: str) -> str | None:
    found = list(_COMPANY_RE.finditer(unit))
    if not found:
        return None
    raw = found[-1].group()
    lead = _COMPANY_LEAD.match(raw)
    return raw[lead.end() :] if lead else raw


_KIND_PRIORITY = {
    "规划总投资": 0,
    "计划总投资": 0,
    "拟总投资": 0,
    "协议总投资": 0,
    "项目总投资": 0,
    "总投资额": 0,
    "总投资": 0,
    "投资总额": 0,
    "计划投资": 1,
    "拟投资": 1,
    "协议投资": 1,
    "投资": 1,
    "固定资产投资总额": 2,
    "固定资产投资": 2,
}


def _amounts(text: str) -> list[tuple[int, float]]:
    out = []
    for m in _AMOUNT_RE.finditer(text):
        kind = m.group("kind")
        priority = _KIND_PRIORITY.get(kind)
        if priority is None:
            continue  # a phase, 已完成投资, 环保投资
        before = text[max(0, m.start() - 4) : m.start()]
        if re.search(r"(?:一期|首期|二期|三期|已|累计|完成)$", before):
            continue
        if priority < 2 and before.endswith("其中"):
            continue  # "其中…投资2.4亿元" is a part; "其中固定资产投资总额1.3亿元" may be all there is
        value = float(m.group("num")) / (10000 if m.group("unit") == "万" else 1)
        out.append((priority, round(value, 4)))
    return out


def _amount(left: str, right: str) -> tuple[int, float] | None:
    before = _AMOUNT_BEFORE_NAME.search(left)
    if before:
        value = float(before.group(1)) / (10000 if before.group(2) == "万" else 1)
        return (0, round(value, 4))
    found = _amounts(right)
    return min(found, key=lambda a: a[0]) if found else None


_SCOPE_WORDS = ("规划", "规划建设", "拟建", "拟在", "拟投资", "公示")


def _stage(left: str, right: str) -> str | None:
    best: str | None = None
    for side, text in (("left", left), ("right", right)):
        for m in _STAGE_RE.finditer(text):
            before, after = text[: m.start()], text[m.end() :]
            if _FUTURE_RE.search(before) or _AFTER_RE.match(after) or _HISTORY_RE.search(before):
                continue
            if side == "right" and m.group() in _SCOPE_WORDS:
                continue  # "…项目总投资25亿元，规划建设标准机柜8000个" describes the project's scope
            stage = _STAGE_OF[m.group()]
            if best is None or STAGE_ORDER[stage] > STAGE_ORDER[best]:
                best = stage
    return best


def _fill_from_reference(current: _Mention, unit: str) -> None:
    # Only a figure said of the project ("该项目总投资100亿元", "项目拟总投资50亿元"), not the district's.
    found = [a for a in _amounts(unit) if a[0] == 0]
    found += [
        a
        for clause in re.split("[，,]", unit)
        if "项目" in clause
        for a in _amounts(clause[clause.find("项目") :])
    ]
    if found:
        best = min(found, key=lambda a: a[0])
        if current.amount is None or best[0] < current.amount[0]:
            current.amount = best
    if current.stage is None:
        current.stage_hint = current.stage_hint or _stage("", unit)
    if current.company is None:
        by = re.search(
            r"由([\u4e00-\u9fffA-Za-z0-9（）()·]{2,30}?" + _COMPANY_SUFFIX + r")(?:投资|建设)", unit
        )
        if by:
            current.company = by.group(1)


# ---------------------------------------------------------------------------------------------- merging


def name_key(name: str) -> str:
    """A project name reduced for comparison: normalized, without 年产/项目/punctuation, lower case."""
    key = normalize_text(name).lower()
    key = re.sub(r"^(?:年产|规模)", "", key)
    key = re.sub(r"项目$", "", key)
    return "".join(ch for ch in key if ch.isalnum())


def char_overlap(a: str, b: str) -> float:
    """Shared characters (as a multiset) over the shorter string's length."""
    if not a or not b:
        return 0.0
    pool = list(b)
    shared = 0
    for ch in a:
        if ch in pool:
            pool.remove(ch)
            shared += 1
    return shared / min(len(a), len(b))


_COMPANY_PLACE = re.compile(
    r"^(?:中国|江苏省?|徐州市?|上海市?|北京市?|深圳市?|南京市?|苏州市?|浙江省?|山东省?|广东省?|安徽省?|天津市?|"
    r"杭州市?|广州市?|绍兴市?|临沂市?|无锡市?|常州市?)"
)


def company_short(company: str | None) -> str | None:
    """The distinctive head of a company name (江苏辉曜光能科技有限公司 → 辉曜), used as its abbreviation."""
    if not company:
        return None
    head = _COMPANY_PLACE.sub("", normalize_text(company))
    return head[:2] if len(head) >= 2 else None


def _same_in_article(a: _Mention, b: _Mention) -> bool:
    ka, kb = name_key(a.name), name_key(b.name)
    if ka in kb or kb in ka:
        return True
    if a.unit == b.unit:
        return (
            False  # two different names in one sentence are two projects (比亚迪刀片电池、比亚迪钠离子电池)
        )
    if a.company and b.company and a.company != b.company:
        return False
    overlap = char_overlap(ka, kb)
    if overlap >= 0.8:
        return True
    # "辉曜光能6GW异质结项目" is the article's "年产6GW异质结电池组件项目" of 江苏辉曜光能科技有限公司.
    short = company_short(a.company or b.company)
    named_by_short = bool(short) and (short in ka or short in kb)
    return named_by_short and overlap >= 0.4


def _merge_in_article(mentions: list[_Mention]) -> list[_Mention]:
    """One entry per project: later mentions ("此次签约的大蒜精深加工项目") add what the first lacked."""
    out: list[_Mention] = []
    for m in sorted(mentions, key=lambda m: (m.unit, m.start)):
        same = next((p for p in out if _same_in_article(p, m)), None)
        if same is None and m.company is None:
            # "辉曜光能项目": a company's short name used for its project
            key = name_key(m.name)
            owners = [p for p in out if p.company and key and key in normalize_text(p.company).lower()]
            same = owners[0] if len(owners) == 1 else None
        if same is None:
            out.append(m)
            continue
        same.company = same.company or m.company
        if m.amount and (same.amount is None or m.amount[0] < same.amount[0]):
            same.amount = m.amount
        if m.stage and (same.stage is None or STAGE_ORDER[m.stage] > STAGE_ORDER[same.stage]):
            same.stage = m.stage
        same.places = same.places or m.places
    return out


def _finish(
    mentions: list[_Mention], title: str, units: list[str], gaz: Gazetteer, classification: object | None
) -> list[ProjectFact]:
    title_stage = _stage("", title)
    title_places = [h for h in gaz.find(title) if not _inside_company(title, h)]
    lead_places = [h for h in gaz.find(units[0]) if not _inside_company(units[0], h)] if units else []
    out = []
    for m in mentions:
        if m.company is None and m.amount is None and m.stage is None and not m.listed:
            m.stage = None
            continue  # a name with no company, figure or stage of its own is a passing mention
        if m.company is None and m.amount is None and _CEREMONY_RE.match(m.follows):
            continue  # "举行冷链物流项目签约仪式": the event's theme, its projects are named elsewhere
        stage = m.stage or m.stage_hint or title_stage
        place = _best_place(m.places) or _best_place(title_places) or _best_place(lead_places)
        out.append(
            ProjectFact(
                name=m.name,
                company=m.company,
                amount_yi=m.amount[1] if m.amount else None,
                stage=stage,
                place=place,
                evidence=m.evidence,
                clusters=_clusters_of(m, classification),
            )
        )
    return out


def _best_place(hits: list[PlaceHit]) -> str | None:
    if not hits:
        return None
    best = max(hits, key=lambda h: (h.place.rank, -h.start))
    return best.place.name


def _clusters_of(m: _Mention, classification: object | None) -> list[str]:
    if classification is None:
        return []
    clusters = list(getattr(classification, "clusters", []) or [])
    evidence = getattr(classification, "evidence", {}) or {}
    text = normalize_text(m.evidence + m.name).lower()
    own = [
        cid
        for cid in clusters + list(getattr(classification, "mentions", []) or [])
        if any(str(term).lower() in text for term, _ in evidence.get(cid, []))
    ]
    return own or clusters[:1]
