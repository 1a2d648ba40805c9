/**
 * XSS vectors for a plugin's pages: each would run script, load something or leave markup
 * behind if it reached a page as HTML. Send them as user input and as model output (streamed),
 * then check that no `window.__xss` was set, no element came from them and they read as text.
 * The portal's and the widget's browser tests use them.
 */

/** Raw HTML and template syntax. */
export const XSS_HTML = [
  '<script>window.__xss = "script"</script>',
  '<img src=x onerror="window.__xss = \'img\'">',
  '<svg onload="window.__xss = \'svg\'"></svg>',
  '<iframe src="javascript:window.parent.__xss = \'iframe\'"></iframe>',
  '"><img src=x onerror=alert(1)>',
  "'-alert(1)-'",
  '[click me](javascript:window.__xss=1)',
  '**<b onmouseover=alert(1)>bold</b>**',
  '```html\n<script>window.__xss = "fence"</script>\n```',
  '<a href="javascript:window.__xss=1">link</a>',
  '{{constructor.constructor("window.__xss=1")()}}',
  '<style>body{display:none}</style>',
] as const

/**
 * Markdown's own ways in: link and image URLs (the only links a safe renderer makes here are
 * `https://tracker.example/pixel.png`, the remote image as a link, and `https://example.com`,
 * whose title stays an attribute value), raw HTML inside Markdown blocks, fence info strings.
 */
export const XSS_MARKDOWN = [
  '[plain](javascript:window.__xss=1) [upper](JaVaScRiPt:window.__xss=1) [spaced](  javascript:window.__xss=1) [entity](java&#115;cript:window.__xss=1) [tab](java\tscript:window.__xss=1)',
  '[vb](vbscript:msgbox(1)) [data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==) [file](file:///etc/passwd) [rel](/api/admin) <javascript:window.__xss=1>',
  '![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9IndpbmRvdy5fX3hzcz0xIi8+) ![png](data:image/png;base64,iVBORw0KGgo=) ![js](javascript:window.__xss=1) ![remote](https://tracker.example/pixel.png)',
  '[title](https://example.com "\\" onmouseover=\\"window.__xss=1")',
  '- <img src=x onerror="window.__xss=1">\n- <details open ontoggle="window.__xss=1">x</details>\n\n> <iframe src="javascript:window.__xss=1"></iframe>\n\n| a | <svg onload="window.__xss=1"> |\n|---|---|\n| <script>window.__xss=1</script> | <a href="javascript:window.__xss=1">x</a> |',
  '```" onmouseover="window.__xss=1\ncode\n```\n\n```<img src=x onerror=window.__xss=1>\ncode\n```',
  '[hex](&#x6A;avascript:window.__xss=1) [ref][x]\n\n[x]: javascript:window.__xss=1',
] as const

/** KaTeX commands that make links or markup (a renderer with `trust: false` makes none). */
export const XSS_KATEX = [
  'Inline $\\href{javascript:window.__xss=1}{click}$ and $\\url{javascript:window.__xss=1}$ and \\(\\htmlClass{x}{y}\\) and \\(\\htmlStyle{color:red}{z}\\)',
  '$$\n\\includegraphics{https://tracker.example/x.png}\n$$\n\n$$\n\\htmlData{foo=bar}{w} \\htmlId{log}{v}\n$$',
] as const
