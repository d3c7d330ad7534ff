// Run in a rendered summary (tests/test_summary_layout.py): what a reader would notice, read
// from the DOM rather than from pixels. Returns one JSON-able object.
(() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const describe = (el) => {
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.className ? "." + el.className : ""} "${text}"`;
  };
  const rgba = (value) => {
    const parts = (value.match(/[\d.]+/g) || []).map(Number);
    return { r: parts[0] || 0, g: parts[1] || 0, b: parts[2] || 0, a: parts.length > 3 ? parts[3] : 1 };
  };
  const luminance = ({ r, g, b }) => {
    const channel = (c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour.a > 0) return colour;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const contrast = (one, two) => {
    const [light, dark] = [luminance(one), luminance(two)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };
  const ownText = (el) =>
    [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const lineCount = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  };

  const out = {
    innerWidth: window.innerWidth,
    clientWidth: width,
    scrollWidth: root.scrollWidth,
    height: root.scrollHeight,
    dark: matchMedia("(prefers-color-scheme: dark)").matches,
    bodyLuminance: luminance(background(document.body)),
    overflowing: [],
    commands: [],
    links: [],
    lowContrast: [],
    cards: [],
    page: null,
  };
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width && (box.right > width + 0.5 || box.left < -0.5)) {
      out.overflowing.push(`${describe(el)} spans ${box.left.toFixed(1)}..${box.right.toFixed(1)}`);
    }
    if (ownText(el) && getComputedStyle(el).visibility !== "hidden") {
      const style = getComputedStyle(el);
      const ratio = contrast(rgba(style.color), background(el));
      const large = parseFloat(style.fontSize) >= 24 ||
        (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.lowContrast.push(`${describe(el)}: ${ratio.toFixed(2)}`);
    }
  }
  for (const el of document.querySelectorAll(".command")) {
    const style = getComputedStyle(el);
    out.commands.push({
      text: el.textContent,
      lines: lineCount(el),
      height: el.getBoundingClientRect().height,
      lineHeight: parseFloat(style.lineHeight),
      right: el.getBoundingClientRect().right,
      scrollWidth: el.scrollWidth,
      clientWidth: el.clientWidth,
    });
  }
  for (const a of document.querySelectorAll("a, area, [href]")) {
    const box = a.getBoundingClientRect();
    out.links.push({ href: a.getAttribute("href"), text: a.textContent.trim(), width: box.width,
                     height: box.height });
  }
  for (const card of document.querySelectorAll(".card")) {
    const box = card.getBoundingClientRect();
    out.cards.push({ left: box.left, right: box.right, top: box.top, bottom: box.bottom });
  }
  const page = document.querySelector(".page");
  if (page) {
    const box = page.getBoundingClientRect();
    out.page = { left: box.left, right: box.right, width: box.width };
  }
  return out;
})()
