// tshark, the reference decoder the sniffer's DNS tests compare with (test/fixtures/captures was
// made with it): whether it is installed, and the DNS responses it decodes from a capture file
// with the corpus's reassembly options.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether tshark is installed (tests skip their tshark checks without it). */
export const HAS_TSHARK = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

/** Options of {@link tsharkDnsResponses}. */
export interface TsharkDnsOptions {
  /** `tcp.reassemble_out_of_order` (tshark's default is off). */
  readonly outOfOrder: boolean;
  /** The `-e` fields printed, tab-separated, in this order. */
  readonly fields: readonly string[];
  /** More `-E` options (`aggregator=,`, `occurrence=a`). */
  readonly format?: readonly string[];
}

/**
 * The DNS responses tshark decodes from `file`, one line per frame (empty lines dropped), with TCP
 * streams and DNS messages reassembled and malformed frames left out, as the corpus was made.
 */
export async function tsharkDnsResponses(file: string, o: TsharkDnsOptions): Promise<string[]> {
  const { stdout } = await run(
    'tshark',
    [
      '-n',
      '-r',
      file,
      '-o',
      'tcp.desegment_tcp_streams:TRUE',
      '-o',
      'dns.desegment_dns_messages:TRUE',
      '-o',
      `tcp.reassemble_out_of_order:${o.outOfOrder ? 'TRUE' : 'FALSE'}`,
      '-Y',
      'dns.flags.response == 1 && !_ws.malformed',
      '-T',
      'fields',
      ...(o.format ?? []).flatMap((f) => ['-E', f]),
      ...o.fields.flatMap((f) => ['-e', f]),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout.split('\n').filter((l) => l.trim() !== '');
}
