// The flags `intentmap export` takes for the clientintents and networkpolicy formats. Kept free of
// heavy imports: the export command adds them eagerly, the exporters load lazily.
import { Option, type Command } from 'commander';

/** Adds the intents/policy export flags to the export command and returns it (for chaining). */
export function withIntentsExportOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--output <type>', 'clientintents/networkpolicy: yaml (multi-document) or json (a v1 List)')
        .choices(['yaml', 'json'])
        .default('yaml'),
    )
    .option(
      '--out <dir>',
      'clientintents/networkpolicy: write one file per client (or policy) into this directory instead of stdout',
    )
    .addOption(
      new Option(
        '--infra <mode>',
        'clientintents: cluster DNS and the API server are annotated on the intents (annotate), left out (exclude) or listed as targets (include)',
      )
        .choices(['annotate', 'exclude', 'include'])
        .default('annotate'),
    )
    .option(
      '--intents <dir>',
      'networkpolicy: generate from these ClientIntents instead of the suggested ones',
    )
    .option(
      '--egress',
      'networkpolicy: also generate one egress policy per client (DNS always allowed)',
      false,
    )
    .option(
      '--protect <server...>',
      'networkpolicy: emit ingress policies only for these servers (NAME or NAMESPACE/NAME)',
    )
    .option(
      '--snapshot <dir>',
      'networkpolicy: manifests of the cluster, to check selectors and find the DNS pods',
    )
    .option(
      '--apiserver-cidr <cidr...>',
      'networkpolicy --egress: addresses of the Kubernetes API server (default: those observed)',
    );
}
