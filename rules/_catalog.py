"""Generated from the rule modules; do not edit by hand. Regenerate with
python -c "from doctor import engine; print(engine.catalog_source(), end='')" > rules/_catalog.py

(id, name, module, applies_to, severity, docker_only, needs, own_skip, form_skip) of every rule, in id
order: the engine imports only the rule modules that can apply to a run's subjects, and reports a
rule that is skipped for its docker_only or needs (and has no skip_reason of its own), or for its
form_skip, without importing it.
"""

RULES = (
    ('RD001', 'docker-runner', 'rd001_docker_runner', ('runner',), 'error', False, (), False, None),
    ('RD002', 'runner-image', 'rd002_runner_image', ('runner',), 'warning', True, (), False, None),
    ('RD003', 'command-syntax', 'rd003_command_syntax', ('runner',), 'error', False, (), False, None),
    ('RD004', 'supervision', 'rd004_supervision', ('runner',), 'error', True, (), False, None),
    ('RD101', 'docker-socket', 'rd101_docker_socket', ('runner',), 'error', True, (), False, None),
    ('RD102', 'containers-dir-readonly', 'rd102_containers_dir_readonly', ('runner',), 'error', True, (), False, None),
    ('RD103', 'working-directory', 'rd103_working_directory', ('runner',), 'error', True, (), False, None),
    ('RD104', 'docker-config-mount', 'rd104_docker_config_mount', ('runner',), 'error', True, (), False, None),
    ('RD201', 'required-env', 'rd201_required_env', ('runner',), 'error', False, (), False, None),
    ('RD202', 'uuid-format', 'rd202_uuid_format', ('runner',), 'error', False, (), False, None),
    ('RD203', 'runtime-prerequisites', 'rd203_runtime_prerequisites', ('runner',), 'warning', True, (), False, None),
    ('RD204', 'unknown-env', 'rd204_unknown_env', ('runner',), 'warning', True, (), False, None),
    ('RD205', 'secret-exposure', 'rd205_secret_exposure', ('runner',), 'warning', False, (), False, None),
    ('RD206', 'container-name', 'rd206_container_name', ('runner',), 'error', True, (), False, None),
    ('RD301', 'docker-config-valid', 'rd301_docker_config_valid', ('runner', 'docker-config'), 'error', True, (), False, None),
    ('RD302', 'no-credential-store', 'rd302_no_credential_store', ('runner', 'docker-config'), 'error', True, (), False, None),
    ('RD303', 'basic-auth-only', 'rd303_basic_auth_only', ('runner', 'docker-config'), 'error', True, (), False, None),
    ('RD304', 'registry-credentials', 'rd304_registry_credentials', ('runner', 'docker-config'), 'warning', True, (), False, None),
    ('RD305', 'docker-config-permissions', 'rd305_docker_config_permissions', ('runner', 'docker-config'), 'warning', True, (), False, None),
    ('RD401', 'image-reference', 'rd401_image_reference', ('runner',), 'error', True, (), False, None),
    ('RD402', 'image-pullable', 'rd402_image_pullable', ('runner',), 'error', True, ('network',), False, None),
    ('RD403', 'not-local-only', 'rd403_not_local_only', ('runner',), 'error', True, ('daemon', 'network'), False, None),
    ('RD404', 'mutable-tag', 'rd404_mutable_tag', ('runner',), 'info', True, (), False, None),
    ('RD501', 'docker-daemon', 'rd501_docker_daemon', ('host',), 'error', False, (), False, None),
    ('RD502', 'host-resources', 'rd502_host_resources', ('runner', 'host'), 'error', True, (), False, None),
    ('RD503', 'runner-containers', 'rd503_runner_containers', ('runner', 'host'), 'error', True, (), False, None),
    ('RD504', 'logging-driver', 'rd504_logging_driver', ('host',), 'warning', True, ('daemon',), False, None),
    ('RD601', 'dind-sidecar', 'rd601_dind_sidecar', ('runner',), 'error', True, (), True, (('kubernetes',), 'not a Kubernetes pod: the pod checks do not apply')),
    ('RD602', 'pod-memory', 'rd602_pod_memory', ('runner',), 'error', True, (), True, (('kubernetes',), 'not a Kubernetes pod: the pod checks do not apply')),
    ('RD603', 'dind-version', 'rd603_dind_version', ('runner',), 'warning', True, (), True, (('kubernetes',), 'not a Kubernetes pod: the pod checks do not apply')),
    ('RD604', 'restart-policy', 'rd604_restart_policy', ('runner',), 'error', True, (), True, (('kubernetes',), 'not a Kubernetes pod: the pod checks do not apply')),
    ('RD605', 'secret-encoding', 'rd605_secret_encoding', ('runner',), 'error', True, (), True, (('kubernetes',), 'not a Kubernetes pod: the pod checks do not apply')),
    ('RD606', 'label-values', 'rd606_label_values', ('runner',), 'error', True, (), True, (('kubernetes',), 'not a Kubernetes pod: the pod checks do not apply')),
    ('RD611', 'autoscaler-uuids', 'rd611_autoscaler_uuids', ('autoscaler-group',), 'error', True, (), False, None),
    ('RD612', 'autoscaler-parameters', 'rd612_autoscaler_parameters', ('autoscaler-group',), 'error', True, (), False, None),
    ('RD613', 'autoscaler-labels', 'rd613_autoscaler_labels', ('autoscaler-group',), 'error', True, (), False, None),
    ('RD614', 'autoscaler-duplicate-labels', 'rd614_autoscaler_duplicate_labels', ('autoscaler-group',), 'error', True, (), False, None),
    ('RD615', 'autoscaler-group', 'rd615_autoscaler_group', ('autoscaler-group',), 'error', True, (), False, None),
    ('RD616', 'autoscaler-resources', 'rd616_autoscaler_resources', ('autoscaler-group',), 'error', True, (), False, None),
    ('RD701', 'runs-on-labels', 'rd701_runs_on_labels', ('pipeline-step',), 'error', True, (), False, None),
    ('RD702', 'ignored-image', 'rd702_ignored_image', ('pipeline-step',), 'warning', True, (), False, None),
    ('RD703', 'private-image-credentials', 'rd703_private_image_credentials', ('pipeline-step',), 'error', True, (), False, None),
    ('RD704', 'image-secret-literal', 'rd704_image_secret_literal', ('pipeline-step',), 'error', True, (), False, None),
    ('RD705', 'step-image-reference', 'rd705_step_image_reference', ('pipeline-step',), 'error', True, (), False, None),
    ('RD706', 'step-runner-match', 'rd706_step_runner_match', ('pipeline-step',), 'warning', True, (), False, None),
    ('RD900', 'suppressions', 'rd900_suppressions', (), 'warning', False, (), False, None),
)
