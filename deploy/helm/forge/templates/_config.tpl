{{/*
forge.yaml, built from values. Secrets appear only as ${NAME} references; the Deployment sets
each NAME from a Secret (see forge.secretEnv). Keys the chart owns come from their own values;
`config` supplies the rest.
*/}}
{{- define "forge.config" -}}
{{- $config := deepCopy (default (dict) .Values.config) -}}
{{- $tokens := list -}}
{{- range .Values.server.tokens -}}
{{- $tokens = append $tokens (dict "name" .name "role" (default "admin" .role) "token" (printf "${%s}" (include "forge.tokenEnv" .name))) -}}
{{- end -}}
{{- $server := dict "host" "0.0.0.0" "port" .Values.server.port "tokens" $tokens -}}
{{- with .Values.server.publicUrl -}}
{{- $_ := set $server "public_url" . -}}
{{- end -}}
{{- $_ := set $config "server" $server -}}
{{- $_ := set $config "data_dir" "/data" -}}
{{- $_ := set $config "store" (include "forge.storeConfig" . | fromYaml) -}}
{{- $_ := set $config "sandbox" (include "forge.sandboxConfig" . | fromYaml) -}}
{{- toYaml $config -}}
{{- end -}}

{{- define "forge.storeConfig" -}}
{{- if eq .Values.store.kind "nats" -}}
{{- $nats := .Values.store.nats -}}
kind: nats
url: {{ $nats.url | quote }}
prefix: {{ $nats.prefix | quote }}
{{- with $nats.retentionDays }}
retention_days: {{ . }}
{{- end }}
{{- if $nats.tokenSecretRef.name }}
token: "${FORGE_NATS_TOKEN}"
{{- end }}
{{- if $nats.credsSecretRef.name }}
creds_file: /etc/forge-nats/nats.creds
{{- end }}
{{- else -}}
kind: sqlite
{{- end -}}
{{- end -}}

{{- define "forge.sandboxConfig" -}}
{{- $w := .Values.workers -}}
{{- if .Values.agentSandbox.enabled -}}
kind: agent-sandbox
namespace: {{ include "forge.workerNamespace" . | quote }}
warm_pool: {{ printf "%s-workers" (include "forge.fullname" .) | quote }}
template: {{ printf "%s-worker" (include "forge.fullname" .) | quote }}
worker_url: {{ include "forge.workerUrl" . | quote }}
start_timeout: {{ $w.startTimeout | quote }}
pool_secret: {{ .Values.agentSandbox.poolSecret | quote }}
inherit_env: {{ toYaml (keys (default (dict) $w.secrets) | sortAlpha) | nindent 2 }}
{{- else -}}
kind: kubernetes
namespace: {{ include "forge.workerNamespace" . | quote }}
image: {{ include "forge.workerImage" . | quote }}
worker_url: {{ include "forge.workerUrl" . | quote }}
service_account: {{ $w.serviceAccount | quote }}
image_pull_secrets: {{ toYaml (default (list) $w.imagePullSecrets) | nindent 2 }}
node_selector: {{ toYaml (default (dict) $w.nodeSelector) | nindent 2 }}
tolerations: {{ toYaml (default (list) $w.tolerations) | nindent 2 }}
{{- with $w.runtimeClass }}
runtime_class: {{ . | quote }}
{{- end }}
resources: {{ toYaml $w.resources | nindent 2 }}
workspace_size: {{ $w.workspaceSize | quote }}
start_timeout: {{ $w.startTimeout | quote }}
secrets: {{ toYaml (default (dict) $w.secrets) | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* The orchestrator's environment from Secrets: API tokens, the NATS token, secretEnv. */}}
{{- define "forge.secretEnv" -}}
{{- range .Values.server.tokens }}
- name: {{ include "forge.tokenEnv" .name }}
  valueFrom:
    secretKeyRef: { name: {{ .secretRef.name | quote }}, key: {{ .secretRef.key | quote }} }
{{- end }}
{{- if and (eq .Values.store.kind "nats") .Values.store.nats.tokenSecretRef.name }}
- name: FORGE_NATS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.store.nats.tokenSecretRef.name | quote }}
      key: {{ .Values.store.nats.tokenSecretRef.key | quote }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef: { name: {{ $ref.secret | quote }}, key: {{ $ref.key | quote }} }
{{- end }}
{{- end -}}
