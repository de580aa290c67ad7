{{/* The chart name, truncated to the 63 characters a label value allows. */}}
{{- define "intentmap.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release-qualified name; a release called "intentmap" is not doubled. */}}
{{- define "intentmap.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "intentmap.sniffer.fullname" -}}
{{- printf "%s-sniffer" (include "intentmap.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "intentmap.mapper.fullname" -}}
{{- printf "%s-mapper" (include "intentmap.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */}}
{{- define "intentmap.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "intentmap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: intentmap
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component; immutable once a workload exists, so nothing versioned. */}}
{{- define "intentmap.selectorLabels" -}}
app.kubernetes.io/name: {{ include "intentmap.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "intentmap.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "intentmap.mapper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "intentmap.mapper.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "intentmap.tokenSecretName" -}}
{{- default (printf "%s-token" (include "intentmap.fullname" .)) .Values.token.existingSecret -}}
{{- end -}}

{{/* The in-cluster URL the sniffers report to. */}}
{{- define "intentmap.mapper.url" -}}
{{- printf "http://%s.%s.svc:%d" (include "intentmap.mapper.fullname" .) .Release.Namespace (int .Values.mapper.port) -}}
{{- end -}}
