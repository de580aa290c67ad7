// helm-render renders a Helm 3 chart the way `helm template` does, for machines where the helm
// binary cannot be installed (only the npm registry and Debian's packages are reachable here, and
// Debian ships no helm binary). It is built from the same parts helm's engine uses:
//   - Go's text/template, with missingkey=zero and "<no value>" erased (helm pkg/engine/engine.go);
//   - sprig v3's TxtFuncMap without env/expandenv (helm pkg/engine/funcs.go);
//   - helm's own functions: include, tpl, required, toYaml/fromYaml/toJson/fromJson (via
//     sigs.k8s.io/yaml, as helm does), and lookup, which returns an empty map exactly as it does
//     under `helm template` and `--dry-run` (no cluster is contacted).
//
// What it does not do: chart dependencies, values.schema.json validation, .Files, hooks, and the
// --set syntax beyond `a.b.c=scalar`. The chart in deploy/helm/intentmap uses none of those.
//
// Build (Debian: golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render deploy/helm-render/main.go
//
// Use:
//
//	helm-render --chart DIR [--release NAME] [--namespace NS] [-f values.yaml]... [--set a.b=c]...
//	            [--api-versions group/version]... [--notes]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// apiVersions mirrors helm's chartutil.VersionSet: templates call .Capabilities.APIVersions.Has.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// installOrder is helm's releaseutil.InstallOrder (pkg/releaseutil/kind_sorter.go), which
// `helm template` uses to order its output.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

func kindRank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder) // unknown kinds (e.g. ServiceMonitor) go last, as in helm
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "helm-render: "+format+"\n", a...)
	os.Exit(1)
}

func readYamlMap(path string) map[string]interface{} {
	data, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		die("%s: %v", path, err)
	}
	return out
}

// mergeValues deep-merges src into dst (maps merge, everything else is replaced), like helm's
// coalescing of user values over the chart's values.yaml. A null in src deletes the key.
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = mergeValues(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// parseScalar types a --set value the way helm's strvals does for plain scalars.
func parseScalar(s string) interface{} {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return s
}

func applySet(values map[string]interface{}, expr string) {
	eq := strings.Index(expr, "=")
	if eq <= 0 {
		die("--set %q: expected key.path=value", expr)
	}
	path := strings.Split(expr[:eq], ".")
	cur := values
	for _, p := range path[:len(path)-1] {
		next, ok := cur[p].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			cur[p] = next
		}
		cur = next
	}
	cur[path[len(path)-1]] = parseScalar(expr[eq+1:])
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// capitalizeKeys turns Chart.yaml's keys into the field names templates use (.Chart.AppVersion).
func capitalizeKeys(m map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range m {
		if k == "" {
			continue
		}
		out[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return out
}

func main() {
	var valueFiles, sets, apis multiFlag
	chartDir := flag.String("chart", "", "chart directory")
	release := flag.String("release", "intentmap", "release name")
	namespace := flag.String("namespace", "intentmap", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.30.0", "reported .Capabilities.KubeVersion")
	notes := flag.Bool("notes", false, "render templates/NOTES.txt instead of the manifests")
	flag.Var(&valueFiles, "f", "values file (repeatable)")
	flag.Var(&sets, "set", "key.path=value (repeatable)")
	flag.Var(&apis, "api-versions", "extra API version the cluster serves (repeatable)")
	flag.Parse()
	if *chartDir == "" {
		die("--chart is required")
	}

	chartMeta := readYamlMap(filepath.Join(*chartDir, "Chart.yaml"))
	values := readYamlMap(filepath.Join(*chartDir, "values.yaml"))
	for _, f := range valueFiles {
		values = mergeValues(values, readYamlMap(f))
	}
	for _, s := range sets {
		applySet(values, s)
	}
	chartName, _ := chartMeta["name"].(string)

	versions := apiVersions{"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "networking.k8s.io/v1",
		"discovery.k8s.io/v1", "batch/v1", "policy/v1"}
	versions = append(versions, apis...)

	// One template set for the whole chart, so include can reach every define (helm does the same).
	root := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = toJSON
	funcs["fromJson"] = fromJSON
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	includedNames := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		// helm bounds recursion the same way (recursionMaxNums = 1000).
		if includedNames[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includedNames[name]++
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	root.Funcs(funcs)

	tplDir := filepath.Join(*chartDir, "templates")
	entries, err := os.ReadDir(tplDir)
	if err != nil {
		die("%v", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := chartName + "/templates/" + e.Name()
		data, err := os.ReadFile(filepath.Join(tplDir, e.Name()))
		if err != nil {
			die("%v", err)
		}
		if _, err := root.New(name).Parse(string(data)); err != nil {
			die("parse %s: %v", name, err)
		}
		names = append(names, name)
	}
	sort.Strings(names)

	top := map[string]interface{}{
		"Values": values,
		"Chart":  capitalizeKeys(chartMeta),
		"Release": map[string]interface{}{
			"Name": *release, "Namespace": *namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Capabilities": map[string]interface{}{
			"APIVersions": versions,
			"KubeVersion": map[string]interface{}{"Version": *kubeVersion, "GitVersion": *kubeVersion},
		},
	}

	type doc struct {
		source string
		body   string
		rank   int
		index  int
	}
	var docs []doc
	for _, name := range names {
		base := filepath.Base(name)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != *notes {
			continue
		}
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, vals); err != nil {
			die("render %s: %v", name, err)
		}
		out := strings.ReplaceAll(buf.String(), "<no value>", "")
		if *notes {
			fmt.Print(out)
			return
		}
		for _, part := range strings.Split("\n"+out, "\n---") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			var head struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(part), &head); err != nil {
				die("%s does not render to valid YAML: %v\n%s", name, err, part)
			}
			docs = append(docs, doc{source: name, body: strings.Trim(part, "\n"), rank: kindRank(head.Kind), index: len(docs)})
		}
	}
	sort.SliceStable(docs, func(i, j int) bool { return docs[i].rank < docs[j].rank })
	for _, d := range docs {
		fmt.Printf("---\n# Source: %s\n%s\n", d.source, d.body)
	}
}
