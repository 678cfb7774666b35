// The order in which paths measured in turns take their turn: rotated by one each round, so that no path
// always comes right after the same other one (whose garbage this process collects during the next turn,
// say) or always first.

/** `items` in the order of round `round`: the list rotated left by `round`. */
export function turnOrder(items, round) {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
