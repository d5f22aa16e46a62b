/** The floor's action: no I/O, so what is measured is Temporal's own cost of one activity. */
export async function echo(value: number): Promise<number> {
  return value;
}

/** The open loop's floor action: the same request the system's HTTP action makes, without templates or records. */
export async function postToSink(sinkUrl: string, eventId: string): Promise<void> {
  const response = await fetch(sinkUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ seq: eventId }),
  });
  await response.arrayBuffer();
}
