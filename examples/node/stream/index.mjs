// stream: streams a response in several chunks with awslambda.streamifyResponse and pipeline().

import { Readable } from "stream";
import { pipeline } from "stream/promises";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One line per chunk, with a pause between them so each one leaves as soon as it is written.
async function* lines(count, pauseMs) {
  for (let i = 1; i <= count; i++) {
    yield `line ${i} of ${count}\n`;
    if (i < count) await sleep(pauseMs);
  }
}

/* global awslambda */
export const handler = awslambda.streamifyResponse(async (event, responseStream, _context) => {
  responseStream.setContentType("text/plain");
  await pipeline(Readable.from(lines(event.count ?? 3, event.pauseMs ?? 100)), responseStream);
});
