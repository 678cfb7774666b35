// The order in which paths measured in turns take their turn: rotated by one each round, so that no path
// always comes right after the same other one (whose garbage this process collects during the next turn,
// say) or always first.

/** `items` in the order of round `round`: the list rotated left by `round`. */
export function turnOrder(items, round) {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Calls each of `takers` (each resolves with one figure) once per round, `rounds` times, in turnOrder: every figure, per taker. */
export async function takeTurns(takers, rounds) {
  const figures = takers.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const i of turnOrder([...takers.keys()], round)) figures[i].push(await takers[i]());
  }
  return figures;
}
