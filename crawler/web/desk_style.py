"""The desk's one stylesheet, served at /desk.css (a module, so it installs with the code)."""

CSS = """
:root{--ink:#1d2330;--soft:#5b6476;--line:#dde1e8;--bg:#f6f7f9;--card:#fff;--accent:#1f5fbf;
--del:#ffe1e0;--del-ink:#8f1711;--ins:#dcf5dd;--ins-ink:#135f1c;--warn:#a35a00;
--edited:#1f5fbf;--removed:#b3261e;--moved:#7b4fbf;--dead_link:#a35a00;--unreachable:#5b6476;
--restored:#2e7d32;color-scheme:light}
*{box-sizing:border-box}
html{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
body{margin:0}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,
textarea:focus-visible,summary:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.3em 1.4em;padding:.6em 1.2em;
background:#1d2330;color:#e9ecf2}
header.top a{color:#e9ecf2;text-decoration:none}
header.top .brand{font-weight:700;letter-spacing:.04em;font-size:1.1em}
header.top nav{display:flex;gap:1.1em;flex-wrap:wrap}
header.top nav a[aria-current]{border-bottom:2px solid #8fb6ff}
header.top .who{margin-left:auto;font-size:.9em;color:#b8c0cf;display:flex;gap:.6em;
align-items:center}
header.top .who button{background:none;border:1px solid #56607a;color:#e9ecf2;border-radius:4px;
padding:.1em .6em;font:inherit;cursor:pointer}
main{max-width:1180px;margin:0 auto;padding:1.2em 1.2em 3em}
h1{font-size:1.6em;line-height:1.25;margin:.2em 0 .3em;overflow-wrap:anywhere}
h2{font-size:1.15em;margin:1.6em 0 .5em}
.lede{color:var(--soft);margin:0 0 1em}
.crumbs{font-size:.9em;margin:0 0 .4em}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1em 1.2em;
margin:0 0 1em}
.badge{display:inline-block;font-size:.75em;font-weight:700;text-transform:uppercase;
letter-spacing:.05em;color:#fff;background:var(--soft);border-radius:3px;padding:.1em .5em;
vertical-align:middle;white-space:nowrap}
.badge.edited{background:var(--edited)}.badge.removed{background:var(--removed)}
.badge.moved{background:var(--moved)}.badge.dead_link{background:var(--dead_link)}
.badge.unreachable{background:var(--unreachable)}.badge.restored{background:var(--restored)}
.badge.ok{background:var(--restored)}.badge.failing{background:var(--removed)}
.badge.never{background:#8a93a5}.badge.reviewed{background:#e8ebf0;color:var(--soft)}
form.filters{display:flex;flex-wrap:wrap;gap:.6em 1em;align-items:flex-end}
form.filters label,form.stack label{display:flex;flex-direction:column;font-size:.85em;
color:var(--soft);gap:.2em}
input,select,textarea,button{font:inherit}
input[type=text],input[type=url],input[type=password],select,textarea{padding:.35em .5em;
border:1px solid #b9c0cc;border-radius:5px;background:#fff;color:var(--ink);min-width:10em}
textarea{width:100%;min-height:4em}
button.primary{background:var(--accent);color:#fff;border:0;border-radius:5px;
padding:.45em 1em;cursor:pointer}
form.stack{display:flex;flex-direction:column;gap:.7em;max-width:34em}
form.inline{display:flex;flex-wrap:wrap;gap:.6em 1em;align-items:flex-end}
form.inline label{display:flex;flex-direction:column;gap:.2em;font-size:.85em;color:var(--soft)}
form.inline label textarea{min-width:18em}
table.list time,dl.facts time{white-space:nowrap}
ul.pages{margin:.4em 0 0;padding-left:1.1em}ul.pages li{margin:.15em 0}
ol.changes{list-style:none;padding:0;margin:0}
ol.changes li{background:var(--card);border:1px solid var(--line);border-left:4px solid
var(--soft);border-radius:6px;padding:.7em 1em;margin:0 0 .6em}
ol.changes li.edited{border-left-color:var(--edited)}
ol.changes li.removed{border-left-color:var(--removed)}
ol.changes li.moved{border-left-color:var(--moved)}
ol.changes li.dead_link{border-left-color:var(--dead_link)}
ol.changes li.restored{border-left-color:var(--restored)}
ol.changes .title{font-weight:600;font-size:1.05em;overflow-wrap:anywhere}
ol.changes .meta,.meta{color:var(--soft);font-size:.85em;overflow-wrap:anywhere}
ol.changes .summary{margin:.25em 0 0;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.2em;margin:0}
dl.facts dt{color:var(--soft)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.diff p{margin:.2em 0 .9em;line-height:1.65}
.diff .changed{background:#fffdf3;border-left:3px solid #f0b400;padding:.3em .8em;margin-left:-.8em}
del{background:var(--del);color:var(--del-ink);text-decoration:line-through;
text-decoration-thickness:1px}
ins{background:var(--ins);color:var(--ins-ink);text-decoration:none;border-bottom:1px solid}
details.fold{margin:.2em 0 .9em;color:var(--soft)}
details.fold summary{cursor:pointer;font-size:.9em}
details.fold p{color:var(--ink)}
.frames{display:grid;grid-template-columns:1fr 1fr;gap:1em}.frames.one{grid-template-columns:1fr}
.card>:first-child,.card h2:first-child{margin-top:0}.card>:last-child{margin-bottom:0}
.frames figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;
overflow:hidden}
.frames figcaption{display:flex;justify-content:space-between;gap:1em;flex-wrap:wrap;
padding:.45em .8em;font-size:.9em;border-bottom:1px solid var(--line)}
.frames iframe{display:block;width:100%;height:560px;border:0;background:#fff}
.shots img{display:block;width:100%;height:auto;max-height:720px;object-fit:cover;
 object-position:top;border-top:1px solid var(--line)}
table.list{width:100%;border-collapse:collapse;background:var(--card);border:1px solid
var(--line);border-radius:8px}
table.list th,table.list td{text-align:left;padding:.5em .8em;border-bottom:1px solid
var(--line);vertical-align:top}
table.list th{font-size:.8em;text-transform:uppercase;letter-spacing:.05em;color:var(--soft)}
table.list tr.event td{background:#fffdf3}
table.list td.url{overflow-wrap:anywhere}
.status{font-variant-numeric:tabular-nums;font-weight:600}
.status.s2{color:var(--restored)}.status.s3{color:var(--moved)}
.status.s4,.status.s5,.status.fail{color:var(--removed)}
.notice{border-left:4px solid var(--warn);background:#fff7ea;padding:.6em 1em;border-radius:4px}
.flash{border-left:4px solid var(--restored);background:#eef8ef;padding:.6em 1em;border-radius:4px}
.error{border-left:4px solid var(--removed);background:#fdeeee;padding:.6em 1em;border-radius:4px}
@media (max-width:760px){
 main{padding:.8em .8em 2em}
 .frames{grid-template-columns:1fr}
 .frames iframe{height:420px}
 header.top .who{margin-left:0}
 table.list thead{display:none}
 table.list tr{display:block;border-bottom:1px solid var(--line);padding:.4em 0}
 table.list td{display:block;border:0;padding:.1em .8em}
 dl.facts{grid-template-columns:1fr}dl.facts dt{margin-top:.4em}
}
"""
