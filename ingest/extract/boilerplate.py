"""What boilerplate looks like on the watched sites (see ../shared/docs/sources.md): line patterns for the cleaner
and class/id patterns for the extractor.  Patterns describe kinds of lines, not particular pages."""

from __future__ import annotations

import re

# Whole lines that are page furniture.  Each must match the entire (space-free) line, so sentences that merely
# mention a word like 分享 are kept.
_FURNITURE = [
    r"分享到.{0,40}",
    r"分享(?:至|到)?[:：]?(?:微信|微博|QQ|朋友圈|空间|.{0,3}){0,8}",
    r"(?:打印|打印本页|打印文章|关闭|关闭窗口|关闭本页|返回顶部|返回首页|收藏|收藏本页|纠错|我要纠错|推荐给朋友)"
    r"(?:[【】\[\]|｜/、\s]*(?:打印|打印本页|关闭|关闭窗口|收藏|纠错|返回顶部|保存本页|保存))*",
    r"[【\[(（]?字[体号][:：]?.{0,12}[】\])）]?",
    r"扫一扫.{0,20}",
    r"(?:手机)?扫(?:描)?(?:二维码|码).{0,20}",
    r"(?:相关|推荐|延伸|热点|热门|精彩|更多)(?:阅读|新闻|链接|推荐|文章|报道|专题)[:：]?.{0,6}",
    r"(?:上|下)一(?:篇|条|页)[:：].{0,80}",
    r"(?:上|下)一(?:篇|条|页)",
    r"(?:您|你)?(?:所在|当前)(?:的)?位置[:：].{0,80}",
    r"首页[>＞»/].{0,80}",
    r"(?:点赞|赞|在看|阅读|浏览|评论|分享|收藏)(?:数|量|次数)?[:：]?\d{0,9}",
    r"\d{1,9}",
    r"[(（【\[]?(?:资料)?图片仅供参考[)）】\]]?",
    r"(?:原文|文章|本文)(?:地址|链接|网址)[:：].{0,200}",
    r"[【\[(（]?(?:责任编辑|责编|编辑|审核|校对|监制|终审|初审|值班编辑|编审)[:：].{0,40}[】\])）]?",
    r"(?:举报|反馈|意见反馈|不良信息举报).{0,20}",
    r"(?:返回|进入).{0,6}(?:[，,]?(?:查看|阅读)更多.{0,4})?",  # a "back to …" link standing alone
    r"(?:查看|阅读|展开)(?:更多|全文|原文).{0,10}",
    r"本文来自.{0,30}(?:客户端|号|平台)?.{0,20}",
    r"(?:来源|稿源|出处)[:：].{0,40}",
    # One-word page controls and app prompts (runs of player controls are found by shape: clean.py).
    r"(?:编辑|收起|展开|展开全文|广告|更多|(?:打开|下载)(?:APP|客户端)|APP内打开|全屏|复制链接|返回|置顶|[\d.]+X)",
    r"(?:转载请注明|未经授权|未经许可|本文系|本文为).{0,30}(?:出处|来源|转载|原文链接|授权|禁止转载|作者).{0,80}",
    r"\d{1,2}:\d{2}(?:/\d{1,2}:\d{2})?",
    r"\d{1,3}%",
]
_FURNITURE_RE = re.compile("^(?:" + "|".join(_FURNITURE) + ")$", re.IGNORECASE)

# A footer starts here: everything from such a line on is site chrome.
_FOOTER_RE = re.compile(
    r"(?:版权所有|Copyright|©|主办单位|承办单位|网站标识码|ICP备|ICP证|公网安备|网站地图|联系我们|"
    r"建议使用.{0,20}浏览器|技术支持[:：]|仅提供信息存储(?:空间)?服务|不代表本(?:站|网|平台)(?:观点|立场))",
    re.IGNORECASE,
)
# A heading that opens the recommendations after an article; from the second half of a body on, it ends it.
_TAIL_START_RE = re.compile(
    r"^[【\[]?(?:猜你喜欢|为你推荐|为您推荐|热门推荐|相关推荐|推荐阅读|延伸阅读|相关阅读|相关新闻|相关文章|"
    r"相关报道|更多精彩|精彩推荐|热点推荐|大家都在看|其他人也在看|热门文章|最新文章|网友评论|发表评论|评论)[】\]]?[:：]?$"
)
# A line that is a publish time with at most a source name: 2024-05-20 14:33·新华社.
_TIME_LINE_RE = re.compile(
    r"^(?:发布时间|时间|日期)?[:：]?\s*(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?[^，。！？,!?]{0,24}$"
)

# Notices a site prints beside every article: copyright and reprint terms, disclaimers, comment-box rules.  They
# are sentences, so punctuation does not give them away; their wording does, and it is the same on every site.
_NOTICE_RE = re.compile(
    r"版权(?:声明|所有(?![者人方])|归.{0,12}所有)|免责声明|未经.{0,6}(?:授权|许可).{0,20}(?:不得|禁止)(?:转载|复制|使用)|"
    r"转载.{0,4}(?:请|须|务必)注明|不代表本(?:站|网|台|平台)(?:的)?(?:观点|立场)|仅提供信息存储(?:空间)?服务|"
    r"(?:留言|评论)(?:须知|规则|守则)|(?:请|注意)?文明(?:发言|上网|评论)|理性(?:发言|讨论)|发表(?:留言|评论)即表明|"
    r"遵守.{0,12}法律法规.{0,30}(?:发言|留言|评论|法律责任)"
)
_NOTICE_MAX = 400
# Every alternative of _NOTICE_RE holds one of these: a substring test first keeps the regex off most lines.
_NOTICE_KEYS = (
    "版权",
    "免责",
    "未经",
    "转载",
    "不代表",
    "信息存储",
    "留言",
    "评论",
    "文明",
    "理性",
    "法律法规",
)

# Photo captions and credits: short lines ending with a credit (…供图, …摄, 记者…摄, 图片来源…).
_CAPTION_RE = re.compile(
    r"^.{0,80}?(?:[(（]?(?:通讯员|记者|本报记者|特约摄影|摄影|图/|图：|图:)?.{0,12}(?:供图|摄)[)）]?"
    r"|[(（]?图片来源[:：].{0,30}[)）]?|[(（]?(?:图|视频|摄影)/.{0,30}[)）]?)$"
)
# Bylines that stand alone on a line: □ 本报记者 张涛 / 记者 王某 通讯员 李某 / 文/图 xx.
_BYLINE_RE = re.compile(
    r"^[□■◇◆●○]?\s*(?:[(（]?(?:本报|本台|本网|[\u4e00-\u9fff]{1,4}[社网台])?(?:记者|通讯员|特约记者|实习生|作者|撰稿|文|文/图|图/文)"
    r"[:：/]?\s*[\u4e00-\u9fff·\s]{1,30}){1,4}[)）]?$"
)
# The opening of a wire story: 本报讯（记者 李刚）/ <agency>徐州5月1日电（记者 …）.  Only the prefix is dropped.
_DATELINE_PREFIX_RE = re.compile(
    r"^(?:本报讯|本台讯|本网讯|讯)\s*(?:[(（][^()（）]{0,40}[)）])?\s*[:：]?\s*"
    r"|^[\u4e00-\u9fff]{1,6}[社网台][^，,。(（]{0,12}\d{1,2}月\d{1,2}日电\s*(?:[(（][^()（）]{0,40}[)）])?\s*"
)

# Class or id of elements that hold furniture rather than article text.  Long distinctive words match anywhere;
# short ones only as a whole token of the class list.
_NEG_WORDS = (
    r"share|comment|breadcrumb|crumb|copyright|footer|recommend|related|relevant|sidebar|side-bar|toolbar|"
    r"advert|pagination|qrcode|erweima|fenxiang|tuijian|xgxw|xgyd|hotnews|hot-news|ranklist|rank-list|"
    r"subscribe|login|friendlink|youqing|statement|disclaimer|mianze|gotop|backtop|"
    r"bshare|jiathis|social|popup|modal|dialog|sponsor|player|vjs-|xgplayer|video-js"
)
_NEG_TOKENS = r"nav|navbar|menu|ad|ads|adv|banner|tags|keywords|foot|header|hot|rank|print|tools|reply|zan|digg|fontsize|zihao"
NEGATIVE_ATTR_RE = re.compile(rf"(?:{_NEG_WORDS})|(?:^|[\s_\-])(?:{_NEG_TOKENS})(?:$|[\s_\-])", re.IGNORECASE)
POSITIVE_ATTR_RE = re.compile(
    r"article|content|main|body|text|post|entry|detail|zoom|editor|story|news_?txt|contxt|cont\b",
    re.IGNORECASE,
)
STRONG_NEGATIVE_ATTR_RE = re.compile(r"share|comment|breadcrumb|crumb|copyright|recommend|related|relevant")


def is_furniture(line: str) -> bool:
    return bool(_FURNITURE_RE.match(line))


def is_notice(text: str) -> bool:
    """A copyright, reprint, disclaimer or comment-rules notice (a paragraph of them, not a whole article)."""
    return (
        8 <= len(text) <= _NOTICE_MAX
        and any(key in text for key in _NOTICE_KEYS)
        and bool(_NOTICE_RE.search(text))
    )


def is_footer_start(line: str) -> bool:
    return len(line) <= 120 and bool(_FOOTER_RE.search(line))


def is_tail_start(line: str) -> bool:
    return bool(_TAIL_START_RE.match(line))


def is_time_line(line: str) -> bool:
    return bool(_TIME_LINE_RE.match(line))


def is_caption(line: str) -> bool:
    # A caption that is a sentence (it has a comma) reports what the photo shows: that is article text.
    return (
        len(line) <= 80
        and bool(_CAPTION_RE.match(line))
        and not line.endswith(("。", "！", "？"))
        and "，" not in line
    )


def is_byline(line: str) -> bool:
    return len(line) <= 60 and bool(_BYLINE_RE.match(line))


def strip_dateline(line: str) -> str:
    return _DATELINE_PREFIX_RE.sub("", line, count=1)
