// Small DOM helpers: find an element, build one, fill a table body; text only (never innerHTML with data).

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} missing from the page`);
  return found as T;
}

export function el(tag: string, text = "", cls = ""): HTMLElement {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

/** Replaces the rows of ``table``'s tbody with ``rows`` (cells as text; a cell ``[text, class]`` gets a class). */
export function fillTable(table: HTMLTableElement, rows: (string | [string, string])[][], empty = "none"): void {
  const body = table.tBodies[0] ?? table.createTBody();
  const cols = table.tHead?.rows[0]?.cells.length ?? 1;
  const fresh = document.createElement("tbody");
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = el("td", empty, "empty") as HTMLTableCellElement;
    td.colSpan = cols;
    tr.append(td);
    fresh.append(tr);
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const cell of row) {
      const [text, cls] = typeof cell === "string" ? [cell, ""] : cell;
      tr.append(el("td", text, cls));
    }
    fresh.append(tr);
  }
  body.replaceWith(fresh);
}

/** ``HH:MM:SS`` local time of an epoch-ms instant. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** A decimal string trimmed of trailing zeros (``"61831.11000000"`` → ``"61831.11"``). */
export function trim(value: unknown): string {
  const text = String(value ?? "");
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

export function num(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : NaN;
}
