// Run in the page by test_pwa_e2e.py: what a Lighthouse-style accessibility pass would flag.
() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const name = (el) => (el.getAttribute('aria-label') || el.textContent || '').trim();
  const out = [];
  for (const img of document.querySelectorAll('img')) {
    if (!(img.getAttribute('alt') || '').trim()) out.push(`img without alt: ${img.src}`);
  }
  for (const b of document.querySelectorAll('button, a.button, [role=button]')) {
    if (!name(b)) out.push(`button without a name: ${b.outerHTML.slice(0, 80)}`);
    const r = b.getBoundingClientRect();
    if (visible(b) && (r.height < 47.5 || r.width < 47.5)) {
      out.push(`small target ${r.width}x${r.height}: ${name(b)}`);
    }
  }
  for (const a of document.querySelectorAll('a[href]')) {
    if (!name(a)) out.push(`link without a name: ${a.href}`);
  }
  for (const f of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    const labelled = f.labels?.length || f.getAttribute('aria-label')
      || f.getAttribute('aria-labelledby');
    if (!labelled) out.push(`field without a label: ${f.id || f.name}`);
  }
  if (document.documentElement.scrollWidth > innerWidth + 1) {
    out.push(`page wider than the screen: ${document.documentElement.scrollWidth} > ${innerWidth}`);
  }
  return out;
}
