{{/* The release's full name: <release>, or <release>-hadron when the release name
lacks "hadron"; at most 63 characters (a DNS label). */}}
{{- define "hadron.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The site, required: every object of the release belongs to one site. */}}
{{- define "hadron.site" -}}
{{- required "site is required: the fleet's name of this site (--set site=east)" .Values.site -}}
{{- end -}}

{{- define "hadron.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hadron.labels" -}}
{{ include "hadron.selectorLabels" . }}
app.kubernetes.io/version: {{ include "hadron.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: daemon
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
hadron.dev/site: {{ include "hadron.site" . }}
{{- with .Values.region }}
hadron.dev/region: {{ . }}
{{- end }}
hadron.dev/role: {{ .Values.role }}
{{- end -}}

{{- define "hadron.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion -}}
{{- end -}}

{{- define "hadron.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "hadron.fullname" .) -}}
{{- end -}}

{{- define "hadron.pkiSecret" -}}
{{- .Values.pki.secretName | default (printf "hadron-pki-%s" (include "hadron.site" .)) -}}
{{- end -}}

{{/* The role, checked: workload or witness. */}}
{{- define "hadron.role" -}}
{{- if not (has .Values.role (list "workload" "witness")) -}}
{{- fail (printf "role %q: workload or witness" .Values.role) -}}
{{- end -}}
{{- .Values.role -}}
{{- end -}}
