/** The floor's action: no I/O, so what is measured is Temporal's own cost of one activity. */
export async function echo(value: number): Promise<number> {
  return value;
}
