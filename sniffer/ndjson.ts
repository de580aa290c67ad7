// The ndjson output of `intentmap sniff --format ndjson`: one JSON object per observation, keys in
// the order of test/fixtures/captures/README.md, `ts` as epoch seconds with exactly 9 fractional
// digits (tshark's frame.time_epoch at nanosecond resolution) or null. Hand-built rather than
// JSON.stringify: it is the hot path of the offline mode and the key order is part of the contract.
import type { DnsAnswer, DnsQuestion, Observation, TimestampNs } from './observation.js';

/** Formats nanoseconds since the epoch as `"<seconds>.<9 digits>"` (JSON string) or `null`. */
export function formatTimestamp(ts: TimestampNs): string {
  if (ts === null) return 'null';
  let digits = (ts < 0n ? -ts : ts).toString();
  if (digits.length < 10) digits = digits.padStart(10, '0');
  const cut = digits.length - 9;
  return `"${ts < 0n ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}"`;
}

/** A JSON string literal; the common case (no quote, backslash or control byte) skips JSON.stringify. */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function nullableString(s: string | null): string {
  return s === null ? 'null' : jsonString(s);
}

function formatAnswers(answers: readonly DnsAnswer[]): string {
  let text = '[';
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i];
    if (a === undefined) continue;
    if (i > 0) text += ',';
    text += `{"type":"${a.type}","name":${jsonString(a.name)},"data":${jsonString(a.data)},"ttl":${a.ttl}}`;
  }
  return text + ']';
}

function formatQuestions(questions: readonly DnsQuestion[]): string {
  let text = '[';
  for (let i = 0; i < questions.length; i++) {
    const q = questions[i];
    if (q === undefined) continue;
    if (i > 0) text += ',';
    text += `{"name":${jsonString(q.name)},"type":${jsonString(q.type)}}`;
  }
  return text + ']';
}

/** One observation as a JSON line (without the newline). udp-flow lines carry a packet count. */
export function formatObservation(obs: Observation, udpFlowPackets = 1): string {
  switch (obs.type) {
    case 'dns':
      return (
        `{"type":"dns","ts":${formatTimestamp(obs.ts)},"client":"${obs.client}","server":"${obs.server}","id":${obs.id},` +
        `"qname":${nullableString(obs.qname)},"qtype":${nullableString(obs.qtype)},"rcode":${obs.rcode},` +
        `"answers":${formatAnswers(obs.answers)},"transport":"${obs.transport}"` +
        (obs.questions === undefined ? '}' : `,"questions":${formatQuestions(obs.questions)}}`)
      );
    case 'tcp-syn':
    case 'tcp-synack':
      return `{"type":"${obs.type}","ts":${formatTimestamp(obs.ts)},"src":"${obs.src}","sport":${obs.sport},"dst":"${obs.dst}","dport":${obs.dport}}`;
    case 'udp-flow':
      return `{"type":"udp-flow","ts":${formatTimestamp(obs.ts)},"src":"${obs.src}","dst":"${obs.dst}","dport":${obs.dport},"packets":${udpFlowPackets}}`;
  }
}
