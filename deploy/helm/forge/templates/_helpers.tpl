{{/* Names ------------------------------------------------------------------------------------ */}}

{{- define "forge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's objects are named this; with release "forge", just "forge". */}}
{{- define "forge.fullname" -}}
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

{{/* Where worker Jobs run: workerNamespace.name, or the release namespace. */}}
{{- define "forge.workerNamespace" -}}
{{- default .Release.Namespace .Values.workerNamespace.name -}}
{{- end -}}

{{/* Labels ----------------------------------------------------------------------------------- */}}

{{- define "forge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "forge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: orchestrator
{{- end -}}

{{- define "forge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "forge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* What Forge's Kubernetes backend puts on every worker Job and pod (job-manifest.ts). */}}
{{- define "forge.workerPodLabels" -}}
app.kubernetes.io/managed-by: forge
app.kubernetes.io/component: forge-worker
{{- end -}}

{{/* Images ----------------------------------------------------------------------------------- */}}

{{- define "forge.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "forge.workerImage" -}}
{{- printf "%s:%s" .Values.workers.image.repository (default .Chart.AppVersion .Values.workers.image.tag) -}}
{{- end -}}

{{/* Environment variable names ---------------------------------------------------------------- */}}

{{/* FORGE_TOKEN_<NAME>: the variable holding API token NAME (upper case, other characters "_"). */}}
{{- define "forge.tokenEnv" -}}
{{- printf "FORGE_TOKEN_%s" (regexReplaceAll "[^A-Z0-9]+" (upper .) "_") -}}
{{- end -}}

{{/* How worker pods reach Forge; see workers.workerUrl in values.yaml. */}}
{{- define "forge.workerUrl" -}}
{{- if .Values.workers.workerUrl -}}
{{- .Values.workers.workerUrl -}}
{{- else if eq .Values.store.kind "nats" -}}
{{- printf "http://${FORGE_POD_IP}:%v" .Values.server.port -}}
{{- else -}}
{{- printf "http://%s.%s.svc.%s:%v" (include "forge.fullname" .) .Release.Namespace .Values.clusterDomain .Values.service.port -}}
{{- end -}}
{{- end -}}
