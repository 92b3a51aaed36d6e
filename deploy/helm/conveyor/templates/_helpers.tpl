{{/* Object names: <release>-server, <release>-reconciler, ... ("conveyor" for the default
release name, as in deploy/kubernetes). */}}
{{- define "conveyor.name" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "conveyor.labels" -}}
app.kubernetes.io/name: conveyor
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: conveyor
{{- end -}}

{{- define "conveyor.selector" -}}
app.kubernetes.io/name: conveyor
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "conveyor.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Pod-level security: a fixed non-root user, the runtime's default seccomp profile. */}}
{{- define "conveyor.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .Values.user.uid }}
runAsGroup: {{ .Values.user.gid }}
fsGroup: {{ .Values.user.gid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security: no privilege escalation, no capabilities, read-only root. */}}
{{- define "conveyor.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "conveyor.publicUrl" -}}
{{- if .Values.server.publicUrl -}}
{{ .Values.server.publicUrl }}
{{- else -}}
https://{{ include "conveyor.name" . }}-server.{{ .Release.Namespace }}.svc:{{ .Values.server.port }}
{{- end -}}
{{- end -}}

{{/* The verbs the reconciler gets on every kind it manages (README: "What RBAC it gets");
`update` only with reconciler.allowReplace (the Replace=true sync option's PUT). */}}
{{- define "conveyor.manageVerbs" -}}
{{- if .Values.reconciler.allowReplace -}}
[get, list, watch, create, update, patch, delete]
{{- else -}}
[get, list, watch, create, patch, delete]
{{- end -}}
{{- end -}}

{{/* The runner pool's config file (ci/kubepool_config.py's format): the templates as given,
an empty image replaced by the chart's, the server URL defaulting to the public one. */}}
{{- define "conveyor.runnerPoolConfig" -}}
{{- $p := .Values.runners.podPool -}}
{{- $templates := list -}}
{{- range $p.templates -}}
{{- $t := deepCopy . -}}
{{- if not $t.image -}}
{{- $_ := set $t "image" (include "conveyor.image" $) -}}
{{- end -}}
{{- $templates = append $templates $t -}}
{{- end -}}
{{- $config := dict "server" ($p.server | default (include "conveyor.publicUrl" .)) "templates" $templates -}}
{{- with $p.caBundle }}{{ $_ := set $config "caBundle" . }}{{ end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The reconciler's endpoint (its Service), for the server's --refresh-url. */}}
{{- define "conveyor.reconcilerUrl" -}}
http://{{ include "conveyor.name" . }}-reconciler.{{ .Release.Namespace }}.svc:{{ .Values.reconciler.listenPort }}
{{- end -}}

{{/* The Secret volume with the token the server and the reconciler share (file `token`). */}}
{{- define "conveyor.reconcilerTokenVolume" -}}
- name: reconciler-token
  secret:
    secretName: {{ .Values.reconciler.token.secretName }}
    defaultMode: 0440
    items:
      - {key: {{ .Values.reconciler.token.key }}, path: token}
{{- end -}}
