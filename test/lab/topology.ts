// The lab's cluster, described as data: workloads, their pods (with lab host ids, so IPs), Services
// with ClusterIPs, and the calls each pod makes. The end-to-end test derives both the Kubernetes
// objects the list/watch server serves and the graph it expects intentmap to find from this one
// description, so the expectation cannot drift from what the lab does.

/** A workload controller kind the lab can model. */
export type LabWorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Pod';

/** A workload: one or more pods with the same labels. */
export interface LabWorkload {
  readonly namespace: string;
  readonly name: string;
  readonly kind: LabWorkloadKind;
  readonly labels: Readonly<Record<string, string>>;
  /** TCP ports its pods serve. */
  readonly ports: readonly number[];
  /** Runs in the node's network namespace (hostNetwork: true), with the node's IP. */
  readonly hostNetwork?: boolean;
}

/** A pod of a workload; `hostId` is the last octet of its IPv4 address in the pod CIDR. */
export interface LabPodSpec {
  readonly workload: string; // "namespace/name"
  readonly name: string;
  readonly hostId: number;
}

/** A ClusterIP Service in front of a workload. */
export interface LabService {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly targetPort: number;
  readonly protocol: 'TCP' | 'UDP';
  /** The workload behind it ("namespace/name"); the selector is that workload's labels. */
  readonly backend: string;
}

/** A call a pod makes: by DNS name through a Service, or straight to a pod's port. */
export type LabCall =
  | { readonly from: string; readonly service: string /* "namespace/name" */ }
  | { readonly from: string; readonly pod: string; readonly port: number }
  | { readonly from: string; readonly external: string; readonly port: number };

/** The whole lab. */
export interface LabTopology {
  readonly podCidrPrefix: string; // e.g. "10.244.0"
  readonly serviceCidr: string; // e.g. "10.96.0.0/24"
  readonly workloads: readonly LabWorkload[];
  readonly pods: readonly LabPodSpec[];
  readonly services: readonly LabService[];
  readonly externalNames: Readonly<Record<string, string>>; // name → IP in the "internet" namespace
}

const shop = (name: string, port: number, extra: Partial<LabWorkload> = {}): LabWorkload => ({
  namespace: 'shop',
  name,
  kind: 'Deployment',
  labels: { app: name },
  ports: [port, 9464],
  ...extra,
});

/** The Online Boutique in namespace `shop`, plus monitoring, a CronJob, IP reuse and a hostNetwork agent. */
export const BOUTIQUE: LabTopology = {
  podCidrPrefix: '10.244.0',
  serviceCidr: '10.96.0.0/24',
  workloads: [
    {
      namespace: 'kube-system',
      name: 'coredns',
      kind: 'Deployment',
      labels: { 'k8s-app': 'kube-dns' },
      ports: [53],
    },
    shop('frontend', 8080),
    shop('cartservice', 7070),
    shop('productcatalogservice', 3550),
    shop('currencyservice', 7000),
    shop('recommendationservice', 8081),
    shop('shippingservice', 50051),
    shop('checkoutservice', 5050),
    shop('adservice', 9555),
    shop('emailservice', 8082),
    shop('paymentservice', 50052),
    shop('redis-cart', 6379, { kind: 'StatefulSet' }),
    shop('loadgenerator', 8089),
    shop('reportjob', 8090, { kind: 'CronJob', ports: [9464] }),
    shop('legacy-importer', 8091, { ports: [9464] }),
    shop('fraud-detector', 8092, { ports: [9464] }),
    {
      namespace: 'monitoring',
      name: 'prometheus',
      kind: 'Deployment',
      labels: { app: 'prometheus' },
      ports: [9090],
    },
    {
      namespace: 'kube-system',
      name: 'node-agent',
      kind: 'DaemonSet',
      labels: { app: 'node-agent' },
      ports: [],
      hostNetwork: true,
    },
  ],
  pods: [
    { workload: 'kube-system/coredns', name: 'coredns-6d4b75cb6d-x2x9z', hostId: 3 },
    { workload: 'shop/frontend', name: 'frontend-7f9c8d-abcde', hostId: 10 },
    { workload: 'shop/cartservice', name: 'cartservice-5d9f7-bcdef', hostId: 11 },
    { workload: 'shop/productcatalogservice', name: 'productcatalogservice-6b8-cdefg', hostId: 12 },
    { workload: 'shop/currencyservice', name: 'currencyservice-7c9-defgh', hostId: 13 },
    { workload: 'shop/recommendationservice', name: 'recommendationservice-8d-efghi', hostId: 14 },
    { workload: 'shop/shippingservice', name: 'shippingservice-9e-fghij', hostId: 15 },
    { workload: 'shop/checkoutservice', name: 'checkoutservice-af-ghijk', hostId: 16 },
    { workload: 'shop/adservice', name: 'adservice-b0-hijkl', hostId: 17 },
    { workload: 'shop/emailservice', name: 'emailservice-c1-ijklm', hostId: 18 },
    { workload: 'shop/paymentservice', name: 'paymentservice-d2-jklmn', hostId: 19 },
    { workload: 'shop/redis-cart', name: 'redis-cart-0', hostId: 20 },
    { workload: 'shop/loadgenerator', name: 'loadgenerator-e3-klmno', hostId: 21 },
    { workload: 'shop/reportjob', name: 'reportjob-29000000-pqrst', hostId: 22 },
    // legacy-importer is deleted mid-run and fraud-detector then gets the same IP (hostId 30).
    { workload: 'shop/legacy-importer', name: 'legacy-importer-f4-lmnop', hostId: 30 },
    { workload: 'shop/fraud-detector', name: 'fraud-detector-a5-mnopq', hostId: 30 },
    { workload: 'monitoring/prometheus', name: 'prometheus-0a-nopqr', hostId: 40 },
  ],
  services: [
    {
      namespace: 'kube-system',
      name: 'kube-dns',
      clusterIP: '10.96.0.10',
      port: 53,
      targetPort: 53,
      protocol: 'UDP',
      backend: 'kube-system/coredns',
    },
    {
      namespace: 'shop',
      name: 'frontend',
      clusterIP: '10.96.0.20',
      port: 80,
      targetPort: 8080,
      protocol: 'TCP',
      backend: 'shop/frontend',
    },
    {
      namespace: 'shop',
      name: 'cartservice',
      clusterIP: '10.96.0.21',
      port: 7070,
      targetPort: 7070,
      protocol: 'TCP',
      backend: 'shop/cartservice',
    },
    {
      namespace: 'shop',
      name: 'productcatalogservice',
      clusterIP: '10.96.0.22',
      port: 3550,
      targetPort: 3550,
      protocol: 'TCP',
      backend: 'shop/productcatalogservice',
    },
    {
      namespace: 'shop',
      name: 'currencyservice',
      clusterIP: '10.96.0.23',
      port: 7000,
      targetPort: 7000,
      protocol: 'TCP',
      backend: 'shop/currencyservice',
    },
    {
      namespace: 'shop',
      name: 'recommendationservice',
      clusterIP: '10.96.0.24',
      port: 8081,
      targetPort: 8081,
      protocol: 'TCP',
      backend: 'shop/recommendationservice',
    },
    {
      namespace: 'shop',
      name: 'shippingservice',
      clusterIP: '10.96.0.25',
      port: 50051,
      targetPort: 50051,
      protocol: 'TCP',
      backend: 'shop/shippingservice',
    },
    {
      namespace: 'shop',
      name: 'checkoutservice',
      clusterIP: '10.96.0.26',
      port: 5050,
      targetPort: 5050,
      protocol: 'TCP',
      backend: 'shop/checkoutservice',
    },
    {
      namespace: 'shop',
      name: 'adservice',
      clusterIP: '10.96.0.27',
      port: 9555,
      targetPort: 9555,
      protocol: 'TCP',
      backend: 'shop/adservice',
    },
    {
      namespace: 'shop',
      name: 'emailservice',
      clusterIP: '10.96.0.28',
      port: 5000,
      targetPort: 8082,
      protocol: 'TCP',
      backend: 'shop/emailservice',
    },
    {
      namespace: 'shop',
      name: 'paymentservice',
      clusterIP: '10.96.0.29',
      port: 50052,
      targetPort: 50052,
      protocol: 'TCP',
      backend: 'shop/paymentservice',
    },
    {
      namespace: 'shop',
      name: 'redis-cart',
      clusterIP: '10.96.0.30',
      port: 6379,
      targetPort: 6379,
      protocol: 'TCP',
      backend: 'shop/redis-cart',
    },
  ],
  externalNames: { 'api.payments.example': '203.0.113.10' },
};

/** The call plan, in phases: `early` runs before the sniffer starts (held open), then `main`. */
export const BOUTIQUE_CALLS = {
  /** Opened before the sniffer starts and kept open: only the socket scan can find it. */
  held: [{ from: 'shop/loadgenerator', service: 'shop/frontend' }] as readonly LabCall[],
  main: [
    ...[
      'cartservice',
      'productcatalogservice',
      'currencyservice',
      'recommendationservice',
      'shippingservice',
      'checkoutservice',
      'adservice',
    ].map((s): LabCall => ({ from: 'shop/frontend', service: `shop/${s}` })),
    ...[
      'cartservice',
      'productcatalogservice',
      'currencyservice',
      'shippingservice',
      'emailservice',
      'paymentservice',
    ].map((s): LabCall => ({ from: 'shop/checkoutservice', service: `shop/${s}` })),
    { from: 'shop/cartservice', service: 'shop/redis-cart' },
    { from: 'shop/recommendationservice', service: 'shop/productcatalogservice' },
    { from: 'shop/paymentservice', external: 'api.payments.example', port: 443 },
    { from: 'kube-system/node-agent', service: 'shop/frontend' },
  ] as readonly LabCall[],
  /** Made by the first holder of the reused IP, before it is deleted. */
  beforeReuse: [
    { from: 'shop/legacy-importer', service: 'shop/productcatalogservice' },
  ] as readonly LabCall[],
  /** Made by the second holder of the reused IP. */
  afterReuse: [{ from: 'shop/fraud-detector', service: 'shop/paymentservice' }] as readonly LabCall[],
  /** Made by the CronJob's short-lived pod. */
  cronRun: [{ from: 'shop/reportjob', service: 'shop/emailservice' }] as readonly LabCall[],
} as const;
