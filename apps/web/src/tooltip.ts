/*
 * The hover box shared by the chunk grid and the bitmap view.
 */

export class Tooltip {
  readonly el: HTMLElement;

  constructor(doc: Document) {
    this.el = doc.createElement("div");
    this.el.className = "tooltip";
    this.el.hidden = true;
    this.el.setAttribute("role", "tooltip");
    doc.body.append(this.el);
  }

  /** Shows `lines` near the pointer of `ev`. */
  show(ev: MouseEvent, lines: readonly string[]): void {
    this.el.textContent = lines.join("\n");
    this.el.hidden = false;
    const pad = 14;
    const w = this.el.offsetWidth;
    const h = this.el.offsetHeight;
    const x = ev.clientX + pad + w > window.innerWidth ? ev.clientX - pad - w : ev.clientX + pad;
    const y = ev.clientY + pad + h > window.innerHeight ? ev.clientY - pad - h : ev.clientY + pad;
    this.el.style.left = `${Math.max(0, x)}px`;
    this.el.style.top = `${Math.max(0, y)}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }
}
