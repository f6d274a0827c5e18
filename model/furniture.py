"""Page furniture: the lines a news page carries around its article.

Text pasted from a news page brings navigation and icon strips, buttons ("Reply", "Back to
top"), comment-policy and newsletter boxes, media-player timestamps, bylines, photo credits,
cookie and copyright notices. They are not reporting, so they get no labels and stay out of
the summary. The test is lexical and cheap (microseconds a line): each rule below names one
kind of furniture. Headlines, datelines and one-line quotes are content: a short line counts
as furniture by its words alone only when every word of it is a furniture word.
"""

from __future__ import annotations

import re

# Words of buttons, menus, icon strips and language switchers. A line made of these alone
# (and numbers) is furniture.
_UI_WORDS = set(
    """
    home news world europe politics business opinion sport sports culture video videos audio live
    latest menu search share shares reply replies comment comments print email e-mail mail copy
    link copied facebook twitter x telegram whatsapp linkedin reddit viber vk youtube instagram
    tiktok pinterest flipboard rss fb tw tg ig yt tweet subscribe login log in sign up out register
    back to top next previous prev more read load show hide close open skip content main save saved
    bookmark like likes follow us on listen watch play pause mute unmute fullscreen advertisement ad
    ads sponsored partner promoted related articles stories story tags topics trending popular most
    viewed newsletter newsletters donate support contact about privacy terms cookies cookie settings
    accept all reject manage preferences ok got it & and the of a page photo photos gallery min mins
    minute minutes ago hour hours updated published edition analysis features feature explainer
    podcast podcasts multimedia infographics archive columns blogs blog lifestyle science tech
    technology economy markets weather tv radio defense defence full cancel leave download pdf cite
    view this article gift continue reading click here scroll with below editors editor's editors'
    picks recommended for you may also font size ukraine russia war key events only commentary column
    english русский українська deutsch français español polski italiano k
    """.split()
)

# Words of a line that is only a date or a time ("Sat, Aug 16, 2025, 6:02 AM EDT").
_DATE_WORDS = set(
    """
    january february march april may june july august september october november december jan feb
    mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday
    sunday mon tue tues wed thu thurs fri sat sun am pm a m p gmt utc bst cet cest eet eest msk edt
    est pst pdt kyiv moscow time at of on th st nd rd updated published posted today yesterday
    """.split()
)

_CAP = "A-ZА-ЯЁІЇЄ"  # capitals that start a name, Latin or Cyrillic

# One pattern per kind of furniture, searched in the whole line.
_RULES: dict[str, re.Pattern[str]] = {
    # 02:14 | 1:02:33 | Watch: 1:45 | 0:00 / 2:31 | 5 min read | 3 hours ago | Reading time: 7 min
    "time": re.compile(
        r"^(?:(?:watch|listen|duration|video|audio|play|length|runtime)\s*:?\s*)?"
        r"[\d\s:./-]*\d{1,2}:\d{2}(?::\d{2})?[\d\s:./-]*(?:min|mins|sec|gmt|utc|cet|msk|eet|am|pm)?$"
        r"|^\d+\s*(?:min|mins|minutes?|sec|seconds?)\s*(?:read|listen|watch)?$"
        r"|^\d+\s*(?:minutes?|hours?|days?|weeks?)\s+ago$"
        r"|^(?:reading|read|listening|running) time\s*:?\s*\d",
        re.I,
    ),
    # Updated 14:32 GMT | Published: 3 March 2025 | Last modified on ...
    "timestamp": re.compile(
        r"^(?:last\s+)?(?:updated|published|posted|modified|first published|updated on|published on)\b"
        r"(?!.*\b(?:said|says|told|warned|announced|figures?|data|toll|list)\b).{0,60}$",
        re.I,
    ),
    # By Olena Marchuk | By Anna Kowalski and John Smith, staff correspondent
    "byline": re.compile(
        rf"^(?:[Ww]ritten\s+)?[Bb]y\s+(?:[{_CAP}][\w'’.-]+\s*){{1,4}}"
        rf"(?:(?:,|and|&)\s*(?:[{_CAP}][\w'’.-]+\s*){{1,4}})*"
        r"(?:[,|—–•-]\s*[\w\s'’-]{0,40})?$"
        # Reporting by ...; Editing by ... | Story by ... | Author: ...
        r"|^\(?(?:[Ss]tory|[Rr]eporting|[Aa]dditional reporting|[Ee]diting|[Ww]riting|[Tt]ext|[Ww]ords"
        r"|[Cc]ompiled|[Pp]roduced|[Ee]dited) by\s+(?:the\s+)?[\w]"
        # By Helen Marsh in Kyiv and Peter Lund in Washington
        rf"|^[Bb]y\s+(?:[{_CAP}][\w'’.-]+\s+){{1,4}}(?:in|from)\s+[{_CAP}][^.!?]{{0,80}}$"
        r"|^[Ff]rom our (?:\w+ )?correspondents? in\b"
        r"|^[Bb]y (?:our|the)? ?(?:[\w-]+ ){0,4}(?:staff|correspondents?|desk|team)$"
        rf"|^(?:[Aa]uthors?|[Ww]riter|[Rr]eporter|[Cc]orrespondent|[Ee]ditor)\s*:\s*[{_CAP}][^.!?]{{0,60}}$"
        # Name Surname, Kyiv Bureau Chief | Name Surname Senior Fellow, Eurasia Program
        rf"|^[{_CAP}][\w'’-]+(?:\s+[{_CAP}][\w'’-]+){{1,2}},?\s+(?:[{_CAP}][\w-]*\s+){{0,3}}"
        r"(?:[Rr]eporter|[Cc]orrespondent|[Ee]ditor|[Ww]riter|[Ff]ellow|[Aa]nalyst|[Cc]olumnist"
        r"|[Cc]ontributor|[Rr]esearcher|[Bb]ureau [Cc]hief|[Pp]roducer)\b[^.!?]{0,50}$"
    ),
    # Photo: Sergei Ivanov / AP | Image credit: ... | (Photo by ...) | © Reuters | AP Photo/...
    "credit": re.compile(
        r"^\(?(?:photo|photos|image|picture|photograph|illustration|illustrative photo|video|footage|"
        r"graphic|cover photo|main photo|top image|credit|source)s?(?:\s+(?:credit|source))?"
        r"\s*(?::|by\b|/|—|-)"
        r"|^©|^\(c\)\s|\ball rights reserved\b|^copyright\b"
        r"|^[\w .'-]{2,40}\s*/\s*(?:AP|AFP|Reuters|Getty Images|EPA|TASS|RIA Novosti|Sputnik|"
        r"Ukrinform|Anadolu|Shutterstock|Bloomberg|Pool)\b"
        # a caption ending in its credit: "... near Pokrovsk. Credit: Ground Forces / Facebook"
        r"|\.\s+(?:photo|credit|image|picture)(?: source)?:\s*[^.!?]{2,60}$"
        r"|^(?:AP|AFP|Reuters|EPA|Getty)\s*Photo\s*/"
        r"|\((?:[\w .'’-]+/)+\s*(?:AP|AFP|Reuters|Getty Images|EPA|TASS|Sputnik|Ukrinform)\)$"
        r"|\bvia (?:REUTERS|AP|AFP|Getty Images)$",
        re.I,
    ),
    # Read more: ... | Read also | See also | Related: ... | Continue reading | Click here to read
    "read_more": re.compile(
        r"^(?:read|see|watch|listen)\s+(?:more|also|next|the full story|full article)\b"
        r"|^(?:related|recommended|more on this(?: story)?|more from|you may also like|"
        r"most read|don't miss|also read|further reading|tags?|topics?|filed under|keywords?)\s*[:|»›>-]"
        r"|^continue reading\b|^click here\b|^explore more\b|^most (?:viewed|read|popular)\b"
        r"|^more on\b.{0,60}:|^related (?:coverage|content|publications|stories|reading|articles)\b"
        r"|^(?:live updates|live coverage|live blog)\b|^return to (?:the )?(?:live blog|top)\b"
        r"|^how to help\s*:|^cite this\b|^reuse this content$|^reprints? and permissions$|^republish this\b"
        r"|^(?:photo gallery|gallery|still image|video still)\s*:"
        # a video item: "Watch: Kyiv residents queue for water – video, 1:52"
        r"|^watch\s*:.*(?:\b\d{1,2}:\d{2}\b|\bvideo\b)"
        r"|^download\b.{0,60}\b(?:pdf|report|brief|analysis|paper|commentary|publication)\b"
        r"|\bpdf\b[^.]{0,30}\b(?:kb|mb|pages|pp)\b"
        r"|^this (?:article|story|report|piece|commentary) (?:was|has been)"
        r" (?:amended|updated|corrected|changed)\b",
        re.I,
    ),
    # Newsletters, subscriptions, donation appeals, app prompts
    "promo": re.compile(
        r"\b(?:sign up|signup|subscribe)\b.{0,80}\b(?:newsletter|inbox|updates|briefing|digest|alerts)\b"
        r"|\bnewsletter\b.{0,60}\b(?:sign up|subscribe|inbox|email)\b"
        r"|\b(?:support|donate to)\s+(?:our|independent)\s+(?:journalism|reporting|newsroom)\b"
        r"|\bdownload (?:our|the) app\b|\bfollow us on\b|\bjoin (?:us|our channel) on\b"
        r"|\bsubscribe to (?:our|the)\b.{0,40}\b(?:channel|feed|podcast)\b"
        r"|\bin your inbox\b|\benter your e-?mail\b|\bby subscribing\b|^sign up\b|\bjoin [\d,.]+k? readers\b"
        r"|\b(?:our|free|weekly|daily) (?:[\w-]+ )?newsletter\b"
        r"|\bplease donate\b|\bdonate (?:now|from|today)\b|\bsupport(?:ing)? us\b|\bon patreon\b"
        r"|\byour support (?:keeps|helps|allows|makes)\b|\bhelp us keep (?:reporting|going)\b"
        r"|^donate\b|^become a\b.{0,40}\bmember\b|\breader-funded\b|\bkeep (?:us|our newsroom) independent\b"
        r"|^support independent\b|^share this (?:update|article|story|page|post|report)\b"
        r"|^subscribe (?:to our|for)\b"
        r"|^support (?:our|the [\w' ’]{2,40}?'s?) (?:[\w-]+ )?(?:reporting|journalism|work|clinics?)\b"
        r"|^(?:follow|subscribe to|read)\b.{1,40}\bon (?:twitter|facebook|telegram|vk|vkontakte|"
        r"odnoklassniki|whatsapp|instagram|youtube|x|dzen|tiktok|threads|bluesky)\b",
        re.I,
    ),
    # Comment policies and greetings to readers in the comment box
    "comments": re.compile(
        r"\bcomment(?:s|ing)? (?:policy|section|guidelines|are moderated|is closed|are closed|are open)\b"
        r"|\b(?:community|commenting) (?:guidelines|standards|rules)\b"
        r"|^(?:hello, )?dear readers?\b|\bwe welcome (?:your )?comments\b|\bplease keep (?:your )?comments\b"
        r"|\b(?:log ?in|sign ?in|register) to (?:comment|reply|join the discussion)\b"
        r"|^\d+\s+comments?$|^(?:be the first to comment|join the (?:discussion|conversation))\b"
        r"|\bcomments? (?:that|which|containing|with)\b.{0,80}\b(?:deleted|removed|moderated)\b"
        r"|\bcomments? (?:are|is|will be) (?:reviewed|deleted|removed|moderated|pre-moderated)\b"
        r"|\blogged in to (?:post a |leave a )?(?:comment|reply)\b|\bin the comments(?: below)?\b"
        r"|\bnot responsible for (?:the content of )?(?:readers'|user|users'|the) comments\b",
        re.I,
    ),
    # Cookie and consent notices
    "cookies": re.compile(
        r"\b(?:we|this (?:site|website)) uses? cookies\b|\bcookie (?:policy|settings|preferences|notice)\b"
        r"|\baccept (?:all )?cookies\b|\bby (?:continuing|using) (?:to (?:use|browse) )?(?:this|our) "
        r"(?:site|website)\b.{0,60}\b(?:agree|consent|cookies)\b"
        r"|\b(?:store|access) (?:and access )?information on your device\b|\bpersonali[sz]e ads\b",
        re.I,
    ),
    # Hashtag strips, copyright and reuse notices, site notices and disclaimers
    "notice": re.compile(
        r"^#[\w-]+(?:[\s,]+#[\w-]+)+$"
        r"|\b(?:reproduc|republish|redistribut|copy|copie)\w*\b.{0,80}"
        r"\bwithout (?:prior |the )?(?:written )?permission\b"
        r"|\bwithout (?:prior |the )?(?:written )?permission\b.{0,40}\b(?:prohibited|forbidden|not allowed)\b"
        r"|\bmay not be (?:re)?(?:published|reproduced)\b"
        r"|\bhyperlink to the source\b|^powered by\b|\bfound a (?:typo|mistake|error)\b|\bctrl\s*\+\s*enter\b"
        r"|\benable javascript\b|^disclaimer\s*:"
        r"|\bviews expressed (?:here |in this \w+ )?are (?:the author|those)"
        r"|\b(?:material|article|message) (?:was )?(?:produced|created|distributed) by\b"
        r".{0,80}\bforeign agent"
        r"|^audio version\b|^like this:|\blike loading\b"
        r"|\b(?:reflects|are) the (?:personal )?(?:analysis|views?|opinions?) of (?:its|the) authors?\b"
        r"|\btakes no institutional positions?\b|\bopinions in this \w+ belong to\b"
        r"|\bviews expressed (?:here |in this \w+ )?are (?:his|her|their|my) own\b"
        r"|\b(?:reflects?|represents?) the views of (?:its|their|the) authors?\b"
        r"|\bsole responsibility of (?:its|their|the) authors?\b"
        r"|\bdoes not (?:represent|reflect) an? institutional (?:position|view)\b"
        r"|\bhas been edited for (?:length|clarity)\b|\bwill be updated as (?:events|the story) develops?\b"
        r"|^for (?:media|press) (?:enquiries|inquiries)\b|\bnot investment advice\b"
        r"|^market data (?:is |are )?delayed\b|^all news on the topic\s*:",
        re.I,
    ),
    # The note on who wrote an opinion piece: "Helena Marsh writes about foreign affairs.",
    # "The author is a political commentator.", "Jane Doe is a senior fellow at ...". A person
    # in the news "is a journalist" too, so only the forms author notes take count.
    "author_note": re.compile(
        r"^the (?:author|writer)s? (?:is|are) an? \b[^.!?]{0,120}\.?$"
        rf"|^(?:[{_CAP}][\w'’.-]+\s+){{1,3}}[{_CAP}][\w'’-]+ (?:"
        r"writes (?:about|on) (?!.*\b(?:that|said|says)\b)[\w ,&-]{3,60}"
        r"|is an? (?:[\w-]+ ){0,3}(?:fellow|contributing editor|former diplomat who writes)\b[^.!?]{0,100}"
        r"|is an? [\w-]+-based (?:[\w-]+ ){0,2}(?:writer|commentator|columnist|analyst)\b[^.!?]{0,100}"
        r"|is an? contributing (?:editor|writer) (?:at|to|for)\b[^.!?]{0,60})\.?$"
    ),
}

# The searches that scan a whole line are the slow part (tens of microseconds each on a long
# sentence). A rule listed here runs only on a line that holds one of its words, casefolded:
# every alternative of that rule needs at least one of them. tests/test_furniture.py checks
# that the words never change a decision, on every line of data/.
_NEEDS: dict[str, tuple[str, ...]] = {
    "credit": (
        "photo",
        "image",
        "picture",
        "illustrat",
        "video",
        "footage",
        "graphic",
        "credit",
        "source",
        "©",
        "(c)",
        "rights reserved",
        "copyright",
        "/",
        "via",
    ),
    "read_more": (
        "read",
        "see",
        "watch",
        "listen",
        "related",
        "recommended",
        "more",
        "like",
        "miss",
        "tag",
        "topic",
        "filed under",
        "keyword",
        "click",
        "most",
        "live",
        "return to",
        "help",
        "cite",
        "reuse",
        "reprint",
        "republish",
        "gallery",
        "still",
        "download",
        "pdf",
        "this article",
        "this story",
        "this report",
        "this piece",
        "this commentary",
    ),
    "promo": (
        "sign",
        "subscri",
        "newsletter",
        "support",
        "donat",
        "app",
        "follow",
        "join",
        "inbox",
        "mail",
        "patreon",
        "help us",
        "member",
        "reader-funded",
        "independent",
        "share this",
        "read",
    ),
    "comments": ("comment", "community", "dear reader", "reply", "discussion", "conversation"),
    "cookies": ("cookie", "continuing", "using", "your device", "personali"),
    "notice": (
        "#",
        "permission",
        "may not be",
        "hyperlink",
        "powered by",
        "found a",
        "ctrl",
        "javascript",
        "disclaimer",
        "views",
        "foreign agent",
        "audio version",
        "like",
        "author",
        "institutional",
        "belong to",
        "edited for",
        "will be updated",
        "enquiries",
        "inquiries",
        "investment advice",
        "market data",
        "all news on",
    ),
}

_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d+|&", re.UNICODE)
_SEPARATORS = re.compile(r"\s*[|•·›»>/◦▸▶►⋅]\s*|\s{2,}")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def furniture_kind(text: str) -> str | None:
    """The kind of page furniture `text` is, or None when it is article content."""
    line = text.strip()
    if not _LETTER.search(line):
        return "time" if re.search(r"\d", line) else "symbols"
    folded = line.casefold()
    for kind, rule in _RULES.items():
        needs = _NEEDS.get(kind)
        if needs is not None and not any(w in folded for w in needs):
            continue
        if rule.search(line):
            return kind
    words = [w.casefold() for w in _WORD.findall(line)]
    if words and len(words) <= 12 and all(w in _UI_WORDS or w.isdigit() for w in words):
        return "navigation"
    if any(w.isdigit() for w in words) and all(w in _DATE_WORDS or w.isdigit() for w in words):
        return "timestamp"
    # A strip of short items between separators: "Home | World | Europe | Ukraine",
    # "Analysis | Eurasia Programme", "Policy Brief No. 41 | June 2023".
    items = [i for i in _SEPARATORS.split(line) if i]
    if not line.endswith(".") and (
        (len(items) >= 3 and all(len(_WORD.findall(i)) <= 3 for i in items))
        or ("|" in line and all(len(_WORD.findall(i)) <= 5 for i in items))
    ):
        return "navigation"
    return None


def is_content(text: str) -> bool:
    return furniture_kind(text) is None
