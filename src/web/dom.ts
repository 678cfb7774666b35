// Small DOM helpers shared by the page's parts.

/** Makes `element` act on taps without taking the focus, so the phone keyboard stays where it is. */
export function keepFocus(element: HTMLElement): void {
  element.addEventListener('pointerdown', (event) => event.preventDefault());
}

/** The element with this id; an error if the page lacks it (the page and the script disagree). */
export function byId(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element;
}

/** A list item that says something instead of listing (nothing yet, asking, a refusal), as text. */
export function listNote(text: string, className: string): HTMLElement {
  const item = document.createElement('li');
  item.className = className;
  item.textContent = text;
  return item;
}
