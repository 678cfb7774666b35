// Small DOM helpers shared by the page's parts.

/** Makes `element` act on taps without taking the focus, so the phone keyboard stays where it is. */
export function keepFocus(element: HTMLElement): void {
  element.addEventListener('pointerdown', (event) => event.preventDefault());
}
