/** One Server-Sent Event: its `event` name ("message" when none was given), joined `data` lines and `id`. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Parses a `text/event-stream` body as the HTML standard describes: fields up to a blank line make an event,
 * lines starting with ":" are comments (keep-alives), and several `data:` lines join with "\n". Lines may end
 * in \n, \r\n or \r, and a chunk may end anywhere, even between \r and \n. Stopping the iteration early
 * cancels the body, which closes the connection.
 */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const end = lineEnd(buffer);
        // A final \r may be the first half of \r\n: wait for the next chunk unless there is none.
        if (end < 0 || (buffer[end] === "\r" && end === buffer.length - 1 && !done)) break;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(buffer[end] === "\r" && buffer[end + 1] === "\n" ? end + 2 : end + 1);
        if (line === "") {
          if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id" && !value.includes("\0")) id = value;
      }
      // An event not closed by a blank line when the stream ends is dropped, as the standard says.
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function lineEnd(s: string): number {
  const n = s.indexOf("\n");
  const r = s.indexOf("\r");
  if (n < 0) return r;
  if (r < 0) return n;
  return Math.min(n, r);
}
