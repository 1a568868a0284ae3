// Generated: the Kubernetes protobuf field tables (k8s.io/api generated.proto, v1.32),
// read from the FileDescriptorProtos compiled into kubectl v1.32.4, limited to the
// messages reachable from the kinds the stand-in serves. One entry per message:
// `number name type[*] [ref]` with type s string, b bytes, ? bool, i integer, d/f
// floating point, m message (ref), M map (ref `map:<value type>`); * repeated.
// Field order is the Go struct's, which is also the JSON order.
export const PROTO_SCHEMA: Record<string, string> = {
  'apps.v1.Deployment':
    '1 metadata m meta.ObjectMeta, 2 spec m apps.v1.DeploymentSpec, 3 status m apps.v1.DeploymentStatus',
  'apps.v1.DeploymentCondition':
    '1 type s, 2 status s, 6 lastUpdateTime m meta.Time, 7 lastTransitionTime m meta.Time, 4 reason s, 5 message s',
  'apps.v1.DeploymentSpec':
    '1 replicas i, 2 selector m meta.LabelSelector, 3 template m core.v1.PodTemplateSpec, 4 strategy m apps.v1.DeploymentStrategy, 5 minReadySeconds i, 6 revisionHistoryLimit i, 7 paused ?, 9 progressDeadlineSeconds i',
  'apps.v1.DeploymentStatus':
    '1 observedGeneration i, 2 replicas i, 3 updatedReplicas i, 7 readyReplicas i, 4 availableReplicas i, 5 unavailableReplicas i, 6 conditions m* apps.v1.DeploymentCondition, 8 collisionCount i',
  'apps.v1.DeploymentStrategy': '1 type s, 2 rollingUpdate m apps.v1.RollingUpdateDeployment',
  'apps.v1.ReplicaSet':
    '1 metadata m meta.ObjectMeta, 2 spec m apps.v1.ReplicaSetSpec, 3 status m apps.v1.ReplicaSetStatus',
  'apps.v1.ReplicaSetCondition':
    '1 type s, 2 status s, 3 lastTransitionTime m meta.Time, 4 reason s, 5 message s',
  'apps.v1.ReplicaSetSpec':
    '1 replicas i, 4 minReadySeconds i, 2 selector m meta.LabelSelector, 3 template m core.v1.PodTemplateSpec',
  'apps.v1.ReplicaSetStatus':
    '1 replicas i, 2 fullyLabeledReplicas i, 4 readyReplicas i, 5 availableReplicas i, 3 observedGeneration i, 6 conditions m* apps.v1.ReplicaSetCondition',
  'apps.v1.RollingUpdateDeployment':
    '1 maxUnavailable m util.intstr.IntOrString, 2 maxSurge m util.intstr.IntOrString',
  'batch.v1.CronJob':
    '1 metadata m meta.ObjectMeta, 2 spec m batch.v1.CronJobSpec, 3 status m batch.v1.CronJobStatus',
  'batch.v1.CronJobSpec':
    '1 schedule s, 8 timeZone s, 2 startingDeadlineSeconds i, 3 concurrencyPolicy s, 4 suspend ?, 5 jobTemplate m batch.v1.JobTemplateSpec, 6 successfulJobsHistoryLimit i, 7 failedJobsHistoryLimit i',
  'batch.v1.CronJobStatus':
    '1 active m* core.v1.ObjectReference, 4 lastScheduleTime m meta.Time, 5 lastSuccessfulTime m meta.Time',
  'batch.v1.Job':
    '1 metadata m meta.ObjectMeta, 2 spec m batch.v1.JobSpec, 3 status m batch.v1.JobStatus',
  'batch.v1.JobCondition':
    '1 type s, 2 status s, 3 lastProbeTime m meta.Time, 4 lastTransitionTime m meta.Time, 5 reason s, 6 message s',
  'batch.v1.JobSpec':
    '1 parallelism i, 2 completions i, 3 activeDeadlineSeconds i, 11 podFailurePolicy m batch.v1.PodFailurePolicy, 16 successPolicy m batch.v1.SuccessPolicy, 7 backoffLimit i, 12 backoffLimitPerIndex i, 13 maxFailedIndexes i, 4 selector m meta.LabelSelector, 5 manualSelector ?, 6 template m core.v1.PodTemplateSpec, 8 ttlSecondsAfterFinished i, 9 completionMode s, 10 suspend ?, 14 podReplacementPolicy s, 15 managedBy s',
  'batch.v1.JobStatus':
    '1 conditions m* batch.v1.JobCondition, 2 startTime m meta.Time, 3 completionTime m meta.Time, 4 active i, 5 succeeded i, 6 failed i, 11 terminating i, 7 completedIndexes s, 10 failedIndexes s, 8 uncountedTerminatedPods m batch.v1.UncountedTerminatedPods, 9 ready i',
  'batch.v1.JobTemplateSpec': '1 metadata m meta.ObjectMeta, 2 spec m batch.v1.JobSpec',
  'batch.v1.PodFailurePolicy': '1 rules m* batch.v1.PodFailurePolicyRule',
  'batch.v1.PodFailurePolicyOnExitCodesRequirement': '1 containerName s, 2 operator s, 3 values i*',
  'batch.v1.PodFailurePolicyOnPodConditionsPattern': '1 type s, 2 status s',
  'batch.v1.PodFailurePolicyRule':
    '1 action s, 2 onExitCodes m batch.v1.PodFailurePolicyOnExitCodesRequirement, 3 onPodConditions m* batch.v1.PodFailurePolicyOnPodConditionsPattern',
  'batch.v1.SuccessPolicy': '1 rules m* batch.v1.SuccessPolicyRule',
  'batch.v1.SuccessPolicyRule': '1 succeededIndexes s, 2 succeededCount i',
  'batch.v1.UncountedTerminatedPods': '1 succeeded s*, 2 failed s*',
  'coordination.v1.Lease': '1 metadata m meta.ObjectMeta, 2 spec m coordination.v1.LeaseSpec',
  'coordination.v1.LeaseSpec':
    '1 holderIdentity s, 2 leaseDurationSeconds i, 3 acquireTime m meta.MicroTime, 4 renewTime m meta.MicroTime, 5 leaseTransitions i, 6 strategy s, 7 preferredHolder s',
  'core.v1.AWSElasticBlockStoreVolumeSource':
    '1 volumeID s, 2 fsType s, 3 partition i, 4 readOnly ?',
  'core.v1.Affinity':
    '1 nodeAffinity m core.v1.NodeAffinity, 2 podAffinity m core.v1.PodAffinity, 3 podAntiAffinity m core.v1.PodAntiAffinity',
  'core.v1.AppArmorProfile': '1 type s, 2 localhostProfile s',
  'core.v1.AzureDiskVolumeSource':
    '1 diskName s, 2 diskURI s, 3 cachingMode s, 4 fsType s, 5 readOnly ?, 6 kind s',
  'core.v1.AzureFilePersistentVolumeSource':
    '1 secretName s, 2 shareName s, 3 readOnly ?, 4 secretNamespace s',
  'core.v1.AzureFileVolumeSource': '1 secretName s, 2 shareName s, 3 readOnly ?',
  'core.v1.CSIPersistentVolumeSource':
    '1 driver s, 2 volumeHandle s, 3 readOnly ?, 4 fsType s, 5 volumeAttributes M map:s, 6 controllerPublishSecretRef m core.v1.SecretReference, 7 nodeStageSecretRef m core.v1.SecretReference, 8 nodePublishSecretRef m core.v1.SecretReference, 9 controllerExpandSecretRef m core.v1.SecretReference, 10 nodeExpandSecretRef m core.v1.SecretReference',
  'core.v1.CSIVolumeSource':
    '1 driver s, 2 readOnly ?, 3 fsType s, 4 volumeAttributes M map:s, 5 nodePublishSecretRef m core.v1.LocalObjectReference',
  'core.v1.Capabilities': '1 add s*, 2 drop s*',
  'core.v1.CephFSPersistentVolumeSource':
    '1 monitors s*, 2 path s, 3 user s, 4 secretFile s, 5 secretRef m core.v1.SecretReference, 6 readOnly ?',
  'core.v1.CephFSVolumeSource':
    '1 monitors s*, 2 path s, 3 user s, 4 secretFile s, 5 secretRef m core.v1.LocalObjectReference, 6 readOnly ?',
  'core.v1.CinderPersistentVolumeSource':
    '1 volumeID s, 2 fsType s, 3 readOnly ?, 4 secretRef m core.v1.SecretReference',
  'core.v1.CinderVolumeSource':
    '1 volumeID s, 2 fsType s, 3 readOnly ?, 4 secretRef m core.v1.LocalObjectReference',
  'core.v1.ClientIPConfig': '1 timeoutSeconds i',
  'core.v1.ClusterTrustBundleProjection':
    '1 name s, 2 signerName s, 3 labelSelector m meta.LabelSelector, 5 optional ?, 4 path s',
  'core.v1.ConfigMap':
    '1 metadata m meta.ObjectMeta, 4 immutable ?, 2 data M map:s, 3 binaryData M map:b',
  'core.v1.ConfigMapEnvSource':
    '1 localObjectReference m core.v1.LocalObjectReference, 2 optional ?',
  'core.v1.ConfigMapKeySelector':
    '1 localObjectReference m core.v1.LocalObjectReference, 2 key s, 3 optional ?',
  'core.v1.ConfigMapProjection':
    '1 localObjectReference m core.v1.LocalObjectReference, 2 items m* core.v1.KeyToPath, 4 optional ?',
  'core.v1.ConfigMapVolumeSource':
    '1 localObjectReference m core.v1.LocalObjectReference, 2 items m* core.v1.KeyToPath, 3 defaultMode i, 4 optional ?',
  'core.v1.Container':
    '1 name s, 2 image s, 3 command s*, 4 args s*, 5 workingDir s, 6 ports m* core.v1.ContainerPort, 19 envFrom m* core.v1.EnvFromSource, 7 env m* core.v1.EnvVar, 8 resources m core.v1.ResourceRequirements, 23 resizePolicy m* core.v1.ContainerResizePolicy, 24 restartPolicy s, 9 volumeMounts m* core.v1.VolumeMount, 21 volumeDevices m* core.v1.VolumeDevice, 10 livenessProbe m core.v1.Probe, 11 readinessProbe m core.v1.Probe, 22 startupProbe m core.v1.Probe, 12 lifecycle m core.v1.Lifecycle, 13 terminationMessagePath s, 20 terminationMessagePolicy s, 14 imagePullPolicy s, 15 securityContext m core.v1.SecurityContext, 16 stdin ?, 17 stdinOnce ?, 18 tty ?',
  'core.v1.ContainerPort': '1 name s, 2 hostPort i, 3 containerPort i, 4 protocol s, 5 hostIP s',
  'core.v1.ContainerResizePolicy': '1 resourceName s, 2 restartPolicy s',
  'core.v1.ContainerState':
    '1 waiting m core.v1.ContainerStateWaiting, 2 running m core.v1.ContainerStateRunning, 3 terminated m core.v1.ContainerStateTerminated',
  'core.v1.ContainerStateRunning': '1 startedAt m meta.Time',
  'core.v1.ContainerStateTerminated':
    '1 exitCode i, 2 signal i, 3 reason s, 4 message s, 5 startedAt m meta.Time, 6 finishedAt m meta.Time, 7 containerID s',
  'core.v1.ContainerStateWaiting': '1 reason s, 2 message s',
  'core.v1.ContainerStatus':
    '1 name s, 2 state m core.v1.ContainerState, 3 lastState m core.v1.ContainerState, 4 ready ?, 5 restartCount i, 6 image s, 7 imageID s, 8 containerID s, 9 started ?, 10 allocatedResources M map:api.resource.Quantity, 11 resources m core.v1.ResourceRequirements, 12 volumeMounts m* core.v1.VolumeMountStatus, 13 user m core.v1.ContainerUser, 14 allocatedResourcesStatus m* core.v1.ResourceStatus',
  'core.v1.ContainerUser': '1 linux m core.v1.LinuxContainerUser',
  'core.v1.DownwardAPIProjection': '1 items m* core.v1.DownwardAPIVolumeFile',
  'core.v1.DownwardAPIVolumeFile':
    '1 path s, 2 fieldRef m core.v1.ObjectFieldSelector, 3 resourceFieldRef m core.v1.ResourceFieldSelector, 4 mode i',
  'core.v1.DownwardAPIVolumeSource': '1 items m* core.v1.DownwardAPIVolumeFile, 2 defaultMode i',
  'core.v1.EmptyDirVolumeSource': '1 medium s, 2 sizeLimit m api.resource.Quantity',
  'core.v1.EndpointAddress':
    '1 ip s, 3 hostname s, 4 nodeName s, 2 targetRef m core.v1.ObjectReference',
  'core.v1.EndpointPort': '1 name s, 2 port i, 3 protocol s, 4 appProtocol s',
  'core.v1.EndpointSubset':
    '1 addresses m* core.v1.EndpointAddress, 2 notReadyAddresses m* core.v1.EndpointAddress, 3 ports m* core.v1.EndpointPort',
  'core.v1.Endpoints': '1 metadata m meta.ObjectMeta, 2 subsets m* core.v1.EndpointSubset',
  'core.v1.EnvFromSource':
    '1 prefix s, 2 configMapRef m core.v1.ConfigMapEnvSource, 3 secretRef m core.v1.SecretEnvSource',
  'core.v1.EnvVar': '1 name s, 2 value s, 3 valueFrom m core.v1.EnvVarSource',
  'core.v1.EnvVarSource':
    '1 fieldRef m core.v1.ObjectFieldSelector, 2 resourceFieldRef m core.v1.ResourceFieldSelector, 3 configMapKeyRef m core.v1.ConfigMapKeySelector, 4 secretKeyRef m core.v1.SecretKeySelector',
  'core.v1.EphemeralContainer':
    '1 ephemeralContainerCommon m core.v1.EphemeralContainerCommon, 2 targetContainerName s',
  'core.v1.EphemeralContainerCommon':
    '1 name s, 2 image s, 3 command s*, 4 args s*, 5 workingDir s, 6 ports m* core.v1.ContainerPort, 19 envFrom m* core.v1.EnvFromSource, 7 env m* core.v1.EnvVar, 8 resources m core.v1.ResourceRequirements, 23 resizePolicy m* core.v1.ContainerResizePolicy, 24 restartPolicy s, 9 volumeMounts m* core.v1.VolumeMount, 21 volumeDevices m* core.v1.VolumeDevice, 10 livenessProbe m core.v1.Probe, 11 readinessProbe m core.v1.Probe, 22 startupProbe m core.v1.Probe, 12 lifecycle m core.v1.Lifecycle, 13 terminationMessagePath s, 20 terminationMessagePolicy s, 14 imagePullPolicy s, 15 securityContext m core.v1.SecurityContext, 16 stdin ?, 17 stdinOnce ?, 18 tty ?',
  'core.v1.EphemeralVolumeSource': '1 volumeClaimTemplate m core.v1.PersistentVolumeClaimTemplate',
  'core.v1.Event':
    '1 metadata m meta.ObjectMeta, 2 involvedObject m core.v1.ObjectReference, 3 reason s, 4 message s, 5 source m core.v1.EventSource, 6 firstTimestamp m meta.Time, 7 lastTimestamp m meta.Time, 8 count i, 9 type s, 10 eventTime m meta.MicroTime, 11 series m core.v1.EventSeries, 12 action s, 13 related m core.v1.ObjectReference, 14 reportingComponent s, 15 reportingInstance s',
  'core.v1.EventSeries': '1 count i, 2 lastObservedTime m meta.MicroTime',
  'core.v1.EventSource': '1 component s, 2 host s',
  'core.v1.ExecAction': '1 command s*',
  'core.v1.FCVolumeSource': '1 targetWWNs s*, 2 lun i, 3 fsType s, 4 readOnly ?, 5 wwids s*',
  'core.v1.FlexPersistentVolumeSource':
    '1 driver s, 2 fsType s, 3 secretRef m core.v1.SecretReference, 4 readOnly ?, 5 options M map:s',
  'core.v1.FlexVolumeSource':
    '1 driver s, 2 fsType s, 3 secretRef m core.v1.LocalObjectReference, 4 readOnly ?, 5 options M map:s',
  'core.v1.FlockerVolumeSource': '1 datasetName s, 2 datasetUUID s',
  'core.v1.GCEPersistentDiskVolumeSource': '1 pdName s, 2 fsType s, 3 partition i, 4 readOnly ?',
  'core.v1.GRPCAction': '1 port i, 2 service s',
  'core.v1.GitRepoVolumeSource': '1 repository s, 2 revision s, 3 directory s',
  'core.v1.GlusterfsPersistentVolumeSource':
    '1 endpoints s, 2 path s, 3 readOnly ?, 4 endpointsNamespace s',
  'core.v1.GlusterfsVolumeSource': '1 endpoints s, 2 path s, 3 readOnly ?',
  'core.v1.HTTPGetAction':
    '1 path s, 2 port m util.intstr.IntOrString, 3 host s, 4 scheme s, 5 httpHeaders m* core.v1.HTTPHeader',
  'core.v1.HTTPHeader': '1 name s, 2 value s',
  'core.v1.HostAlias': '1 ip s, 2 hostnames s*',
  'core.v1.HostIP': '1 ip s',
  'core.v1.HostPathVolumeSource': '1 path s, 2 type s',
  'core.v1.ISCSIPersistentVolumeSource':
    '1 targetPortal s, 2 iqn s, 3 lun i, 4 iscsiInterface s, 5 fsType s, 6 readOnly ?, 7 portals s*, 8 chapAuthDiscovery ?, 11 chapAuthSession ?, 10 secretRef m core.v1.SecretReference, 12 initiatorName s',
  'core.v1.ISCSIVolumeSource':
    '1 targetPortal s, 2 iqn s, 3 lun i, 4 iscsiInterface s, 5 fsType s, 6 readOnly ?, 7 portals s*, 8 chapAuthDiscovery ?, 11 chapAuthSession ?, 10 secretRef m core.v1.LocalObjectReference, 12 initiatorName s',
  'core.v1.ImageVolumeSource': '1 reference s, 2 pullPolicy s',
  'core.v1.KeyToPath': '1 key s, 2 path s, 3 mode i',
  'core.v1.Lifecycle':
    '1 postStart m core.v1.LifecycleHandler, 2 preStop m core.v1.LifecycleHandler',
  'core.v1.LifecycleHandler':
    '1 exec m core.v1.ExecAction, 2 httpGet m core.v1.HTTPGetAction, 3 tcpSocket m core.v1.TCPSocketAction, 4 sleep m core.v1.SleepAction',
  'core.v1.LinuxContainerUser': '1 uid i, 2 gid i, 3 supplementalGroups i*',
  'core.v1.LoadBalancerIngress': '1 ip s, 2 hostname s, 3 ipMode s, 4 ports m* core.v1.PortStatus',
  'core.v1.LoadBalancerStatus': '1 ingress m* core.v1.LoadBalancerIngress',
  'core.v1.LocalObjectReference': '1 name s',
  'core.v1.LocalVolumeSource': '1 path s, 2 fsType s',
  'core.v1.ModifyVolumeStatus': '1 targetVolumeAttributesClassName s, 2 status s',
  'core.v1.NFSVolumeSource': '1 server s, 2 path s, 3 readOnly ?',
  'core.v1.Namespace':
    '1 metadata m meta.ObjectMeta, 2 spec m core.v1.NamespaceSpec, 3 status m core.v1.NamespaceStatus',
  'core.v1.NamespaceCondition':
    '1 type s, 2 status s, 4 lastTransitionTime m meta.Time, 5 reason s, 6 message s',
  'core.v1.NamespaceSpec': '1 finalizers s*',
  'core.v1.NamespaceStatus': '1 phase s, 2 conditions m* core.v1.NamespaceCondition',
  'core.v1.NodeAffinity':
    '1 requiredDuringSchedulingIgnoredDuringExecution m core.v1.NodeSelector, 2 preferredDuringSchedulingIgnoredDuringExecution m* core.v1.PreferredSchedulingTerm',
  'core.v1.NodeSelector': '1 nodeSelectorTerms m* core.v1.NodeSelectorTerm',
  'core.v1.NodeSelectorRequirement': '1 key s, 2 operator s, 3 values s*',
  'core.v1.NodeSelectorTerm':
    '1 matchExpressions m* core.v1.NodeSelectorRequirement, 2 matchFields m* core.v1.NodeSelectorRequirement',
  'core.v1.ObjectFieldSelector': '1 apiVersion s, 2 fieldPath s',
  'core.v1.ObjectReference':
    '1 kind s, 2 namespace s, 3 name s, 4 uid s, 5 apiVersion s, 6 resourceVersion s, 7 fieldPath s',
  'core.v1.PersistentVolume':
    '1 metadata m meta.ObjectMeta, 2 spec m core.v1.PersistentVolumeSpec, 3 status m core.v1.PersistentVolumeStatus',
  'core.v1.PersistentVolumeClaim':
    '1 metadata m meta.ObjectMeta, 2 spec m core.v1.PersistentVolumeClaimSpec, 3 status m core.v1.PersistentVolumeClaimStatus',
  'core.v1.PersistentVolumeClaimCondition':
    '1 type s, 2 status s, 3 lastProbeTime m meta.Time, 4 lastTransitionTime m meta.Time, 5 reason s, 6 message s',
  'core.v1.PersistentVolumeClaimSpec':
    '1 accessModes s*, 4 selector m meta.LabelSelector, 2 resources m core.v1.VolumeResourceRequirements, 3 volumeName s, 5 storageClassName s, 6 volumeMode s, 7 dataSource m core.v1.TypedLocalObjectReference, 8 dataSourceRef m core.v1.TypedObjectReference, 9 volumeAttributesClassName s',
  'core.v1.PersistentVolumeClaimStatus':
    '1 phase s, 2 accessModes s*, 3 capacity M map:api.resource.Quantity, 4 conditions m* core.v1.PersistentVolumeClaimCondition, 5 allocatedResources M map:api.resource.Quantity, 7 allocatedResourceStatuses M map:s, 8 currentVolumeAttributesClassName s, 9 modifyVolumeStatus m core.v1.ModifyVolumeStatus',
  'core.v1.PersistentVolumeClaimTemplate':
    '1 metadata m meta.ObjectMeta, 2 spec m core.v1.PersistentVolumeClaimSpec',
  'core.v1.PersistentVolumeClaimVolumeSource': '1 claimName s, 2 readOnly ?',
  'core.v1.PersistentVolumeSource':
    '1 gcePersistentDisk m core.v1.GCEPersistentDiskVolumeSource, 2 awsElasticBlockStore m core.v1.AWSElasticBlockStoreVolumeSource, 3 hostPath m core.v1.HostPathVolumeSource, 4 glusterfs m core.v1.GlusterfsPersistentVolumeSource, 5 nfs m core.v1.NFSVolumeSource, 6 rbd m core.v1.RBDPersistentVolumeSource, 7 iscsi m core.v1.ISCSIPersistentVolumeSource, 8 cinder m core.v1.CinderPersistentVolumeSource, 9 cephfs m core.v1.CephFSPersistentVolumeSource, 10 fc m core.v1.FCVolumeSource, 11 flocker m core.v1.FlockerVolumeSource, 12 flexVolume m core.v1.FlexPersistentVolumeSource, 13 azureFile m core.v1.AzureFilePersistentVolumeSource, 14 vsphereVolume m core.v1.VsphereVirtualDiskVolumeSource, 15 quobyte m core.v1.QuobyteVolumeSource, 16 azureDisk m core.v1.AzureDiskVolumeSource, 17 photonPersistentDisk m core.v1.PhotonPersistentDiskVolumeSource, 18 portworxVolume m core.v1.PortworxVolumeSource, 19 scaleIO m core.v1.ScaleIOPersistentVolumeSource, 20 local m core.v1.LocalVolumeSource, 21 storageos m core.v1.StorageOSPersistentVolumeSource, 22 csi m core.v1.CSIPersistentVolumeSource',
  'core.v1.PersistentVolumeSpec':
    '1 capacity M map:api.resource.Quantity, 2 persistentVolumeSource m core.v1.PersistentVolumeSource, 3 accessModes s*, 4 claimRef m core.v1.ObjectReference, 5 persistentVolumeReclaimPolicy s, 6 storageClassName s, 7 mountOptions s*, 8 volumeMode s, 9 nodeAffinity m core.v1.VolumeNodeAffinity, 10 volumeAttributesClassName s',
  'core.v1.PersistentVolumeStatus':
    '1 phase s, 2 message s, 3 reason s, 4 lastPhaseTransitionTime m meta.Time',
  'core.v1.PhotonPersistentDiskVolumeSource': '1 pdID s, 2 fsType s',
  'core.v1.Pod':
    '1 metadata m meta.ObjectMeta, 2 spec m core.v1.PodSpec, 3 status m core.v1.PodStatus',
  'core.v1.PodAffinity':
    '1 requiredDuringSchedulingIgnoredDuringExecution m* core.v1.PodAffinityTerm, 2 preferredDuringSchedulingIgnoredDuringExecution m* core.v1.WeightedPodAffinityTerm',
  'core.v1.PodAffinityTerm':
    '1 labelSelector m meta.LabelSelector, 2 namespaces s*, 3 topologyKey s, 4 namespaceSelector m meta.LabelSelector, 5 matchLabelKeys s*, 6 mismatchLabelKeys s*',
  'core.v1.PodAntiAffinity':
    '1 requiredDuringSchedulingIgnoredDuringExecution m* core.v1.PodAffinityTerm, 2 preferredDuringSchedulingIgnoredDuringExecution m* core.v1.WeightedPodAffinityTerm',
  'core.v1.PodCondition':
    '1 type s, 2 status s, 3 lastProbeTime m meta.Time, 4 lastTransitionTime m meta.Time, 5 reason s, 6 message s',
  'core.v1.PodDNSConfig':
    '1 nameservers s*, 2 searches s*, 3 options m* core.v1.PodDNSConfigOption',
  'core.v1.PodDNSConfigOption': '1 name s, 2 value s',
  'core.v1.PodIP': '1 ip s',
  'core.v1.PodOS': '1 name s',
  'core.v1.PodReadinessGate': '1 conditionType s',
  'core.v1.PodResourceClaim': '1 name s, 3 resourceClaimName s, 4 resourceClaimTemplateName s',
  'core.v1.PodResourceClaimStatus': '1 name s, 2 resourceClaimName s',
  'core.v1.PodSchedulingGate': '1 name s',
  'core.v1.PodSecurityContext':
    '1 seLinuxOptions m core.v1.SELinuxOptions, 8 windowsOptions m core.v1.WindowsSecurityContextOptions, 2 runAsUser i, 6 runAsGroup i, 3 runAsNonRoot ?, 4 supplementalGroups i*, 12 supplementalGroupsPolicy s, 5 fsGroup i, 7 sysctls m* core.v1.Sysctl, 9 fsGroupChangePolicy s, 10 seccompProfile m core.v1.SeccompProfile, 11 appArmorProfile m core.v1.AppArmorProfile, 13 seLinuxChangePolicy s',
  'core.v1.PodSpec':
    '1 volumes m* core.v1.Volume, 20 initContainers m* core.v1.Container, 2 containers m* core.v1.Container, 34 ephemeralContainers m* core.v1.EphemeralContainer, 3 restartPolicy s, 4 terminationGracePeriodSeconds i, 5 activeDeadlineSeconds i, 6 dnsPolicy s, 7 nodeSelector M map:s, 8 serviceAccountName s, 9 serviceAccount s, 21 automountServiceAccountToken ?, 10 nodeName s, 11 hostNetwork ?, 12 hostPID ?, 13 hostIPC ?, 27 shareProcessNamespace ?, 14 securityContext m core.v1.PodSecurityContext, 15 imagePullSecrets m* core.v1.LocalObjectReference, 16 hostname s, 17 subdomain s, 18 affinity m core.v1.Affinity, 19 schedulerName s, 22 tolerations m* core.v1.Toleration, 23 hostAliases m* core.v1.HostAlias, 24 priorityClassName s, 25 priority i, 26 dnsConfig m core.v1.PodDNSConfig, 28 readinessGates m* core.v1.PodReadinessGate, 29 runtimeClassName s, 30 enableServiceLinks ?, 31 preemptionPolicy s, 32 overhead M map:api.resource.Quantity, 33 topologySpreadConstraints m* core.v1.TopologySpreadConstraint, 35 setHostnameAsFQDN ?, 36 os m core.v1.PodOS, 37 hostUsers ?, 38 schedulingGates m* core.v1.PodSchedulingGate, 39 resourceClaims m* core.v1.PodResourceClaim, 40 resources m core.v1.ResourceRequirements',
  'core.v1.PodStatus':
    '1 phase s, 2 conditions m* core.v1.PodCondition, 3 message s, 4 reason s, 11 nominatedNodeName s, 5 hostIP s, 16 hostIPs m* core.v1.HostIP, 6 podIP s, 12 podIPs m* core.v1.PodIP, 7 startTime m meta.Time, 10 initContainerStatuses m* core.v1.ContainerStatus, 8 containerStatuses m* core.v1.ContainerStatus, 9 qosClass s, 13 ephemeralContainerStatuses m* core.v1.ContainerStatus, 14 resize s, 15 resourceClaimStatuses m* core.v1.PodResourceClaimStatus',
  'core.v1.PodTemplateSpec': '1 metadata m meta.ObjectMeta, 2 spec m core.v1.PodSpec',
  'core.v1.PortStatus': '1 port i, 2 protocol s, 3 error s',
  'core.v1.PortworxVolumeSource': '1 volumeID s, 2 fsType s, 3 readOnly ?',
  'core.v1.PreferredSchedulingTerm': '1 weight i, 2 preference m core.v1.NodeSelectorTerm',
  'core.v1.Probe':
    '1 handler m core.v1.ProbeHandler, 2 initialDelaySeconds i, 3 timeoutSeconds i, 4 periodSeconds i, 5 successThreshold i, 6 failureThreshold i, 7 terminationGracePeriodSeconds i',
  'core.v1.ProbeHandler':
    '1 exec m core.v1.ExecAction, 2 httpGet m core.v1.HTTPGetAction, 3 tcpSocket m core.v1.TCPSocketAction, 4 grpc m core.v1.GRPCAction',
  'core.v1.ProjectedVolumeSource': '1 sources m* core.v1.VolumeProjection, 2 defaultMode i',
  'core.v1.QuobyteVolumeSource':
    '1 registry s, 2 volume s, 3 readOnly ?, 4 user s, 5 group s, 6 tenant s',
  'core.v1.RBDPersistentVolumeSource':
    '1 monitors s*, 2 image s, 3 fsType s, 4 pool s, 5 user s, 6 keyring s, 7 secretRef m core.v1.SecretReference, 8 readOnly ?',
  'core.v1.RBDVolumeSource':
    '1 monitors s*, 2 image s, 3 fsType s, 4 pool s, 5 user s, 6 keyring s, 7 secretRef m core.v1.LocalObjectReference, 8 readOnly ?',
  'core.v1.ResourceClaim': '1 name s, 2 request s',
  'core.v1.ResourceFieldSelector':
    '1 containerName s, 2 resource s, 3 divisor m api.resource.Quantity',
  'core.v1.ResourceHealth': '1 resourceID s, 2 health s',
  'core.v1.ResourceRequirements':
    '1 limits M map:api.resource.Quantity, 2 requests M map:api.resource.Quantity, 3 claims m* core.v1.ResourceClaim',
  'core.v1.ResourceStatus': '1 name s, 2 resources m* core.v1.ResourceHealth',
  'core.v1.SELinuxOptions': '1 user s, 2 role s, 3 type s, 4 level s',
  'core.v1.ScaleIOPersistentVolumeSource':
    '1 gateway s, 2 system s, 3 secretRef m core.v1.SecretReference, 4 sslEnabled ?, 5 protectionDomain s, 6 storagePool s, 7 storageMode s, 8 volumeName s, 9 fsType s, 10 readOnly ?',
  'core.v1.ScaleIOVolumeSource':
    '1 gateway s, 2 system s, 3 secretRef m core.v1.LocalObjectReference, 4 sslEnabled ?, 5 protectionDomain s, 6 storagePool s, 7 storageMode s, 8 volumeName s, 9 fsType s, 10 readOnly ?',
  'core.v1.SeccompProfile': '1 type s, 2 localhostProfile s',
  'core.v1.Secret':
    '1 metadata m meta.ObjectMeta, 5 immutable ?, 2 data M map:b, 4 stringData M map:s, 3 type s',
  'core.v1.SecretEnvSource': '1 localObjectReference m core.v1.LocalObjectReference, 2 optional ?',
  'core.v1.SecretKeySelector':
    '1 localObjectReference m core.v1.LocalObjectReference, 2 key s, 3 optional ?',
  'core.v1.SecretProjection':
    '1 localObjectReference m core.v1.LocalObjectReference, 2 items m* core.v1.KeyToPath, 4 optional ?',
  'core.v1.SecretReference': '1 name s, 2 namespace s',
  'core.v1.SecretVolumeSource':
    '1 secretName s, 2 items m* core.v1.KeyToPath, 3 defaultMode i, 4 optional ?',
  'core.v1.SecurityContext':
    '1 capabilities m core.v1.Capabilities, 2 privileged ?, 3 seLinuxOptions m core.v1.SELinuxOptions, 10 windowsOptions m core.v1.WindowsSecurityContextOptions, 4 runAsUser i, 8 runAsGroup i, 5 runAsNonRoot ?, 6 readOnlyRootFilesystem ?, 7 allowPrivilegeEscalation ?, 9 procMount s, 11 seccompProfile m core.v1.SeccompProfile, 12 appArmorProfile m core.v1.AppArmorProfile',
  'core.v1.Service':
    '1 metadata m meta.ObjectMeta, 2 spec m core.v1.ServiceSpec, 3 status m core.v1.ServiceStatus',
  'core.v1.ServiceAccount':
    '1 metadata m meta.ObjectMeta, 2 secrets m* core.v1.ObjectReference, 3 imagePullSecrets m* core.v1.LocalObjectReference, 4 automountServiceAccountToken ?',
  'core.v1.ServiceAccountTokenProjection': '1 audience s, 2 expirationSeconds i, 3 path s',
  'core.v1.ServicePort':
    '1 name s, 2 protocol s, 6 appProtocol s, 3 port i, 4 targetPort m util.intstr.IntOrString, 5 nodePort i',
  'core.v1.ServiceSpec':
    '1 ports m* core.v1.ServicePort, 2 selector M map:s, 3 clusterIP s, 18 clusterIPs s*, 4 type s, 5 externalIPs s*, 7 sessionAffinity s, 8 loadBalancerIP s, 9 loadBalancerSourceRanges s*, 10 externalName s, 11 externalTrafficPolicy s, 12 healthCheckNodePort i, 13 publishNotReadyAddresses ?, 14 sessionAffinityConfig m core.v1.SessionAffinityConfig, 19 ipFamilies s*, 17 ipFamilyPolicy s, 20 allocateLoadBalancerNodePorts ?, 21 loadBalancerClass s, 22 internalTrafficPolicy s, 23 trafficDistribution s',
  'core.v1.ServiceStatus':
    '1 loadBalancer m core.v1.LoadBalancerStatus, 2 conditions m* meta.Condition',
  'core.v1.SessionAffinityConfig': '1 clientIP m core.v1.ClientIPConfig',
  'core.v1.SleepAction': '1 seconds i',
  'core.v1.StorageOSPersistentVolumeSource':
    '1 volumeName s, 2 volumeNamespace s, 3 fsType s, 4 readOnly ?, 5 secretRef m core.v1.ObjectReference',
  'core.v1.StorageOSVolumeSource':
    '1 volumeName s, 2 volumeNamespace s, 3 fsType s, 4 readOnly ?, 5 secretRef m core.v1.LocalObjectReference',
  'core.v1.Sysctl': '1 name s, 2 value s',
  'core.v1.TCPSocketAction': '1 port m util.intstr.IntOrString, 2 host s',
  'core.v1.Toleration': '1 key s, 2 operator s, 3 value s, 4 effect s, 5 tolerationSeconds i',
  'core.v1.TopologySelectorLabelRequirement': '1 key s, 2 values s*',
  'core.v1.TopologySelectorTerm':
    '1 matchLabelExpressions m* core.v1.TopologySelectorLabelRequirement',
  'core.v1.TopologySpreadConstraint':
    '1 maxSkew i, 2 topologyKey s, 3 whenUnsatisfiable s, 4 labelSelector m meta.LabelSelector, 5 minDomains i, 6 nodeAffinityPolicy s, 7 nodeTaintsPolicy s, 8 matchLabelKeys s*',
  'core.v1.TypedLocalObjectReference': '1 apiGroup s, 2 kind s, 3 name s',
  'core.v1.TypedObjectReference': '1 apiGroup s, 2 kind s, 3 name s, 4 namespace s',
  'core.v1.Volume': '1 name s, 2 volumeSource m core.v1.VolumeSource',
  'core.v1.VolumeDevice': '1 name s, 2 devicePath s',
  'core.v1.VolumeMount':
    '1 name s, 2 readOnly ?, 7 recursiveReadOnly s, 3 mountPath s, 4 subPath s, 5 mountPropagation s, 6 subPathExpr s',
  'core.v1.VolumeMountStatus': '1 name s, 2 mountPath s, 3 readOnly ?, 4 recursiveReadOnly s',
  'core.v1.VolumeNodeAffinity': '1 required m core.v1.NodeSelector',
  'core.v1.VolumeProjection':
    '1 secret m core.v1.SecretProjection, 2 downwardAPI m core.v1.DownwardAPIProjection, 3 configMap m core.v1.ConfigMapProjection, 4 serviceAccountToken m core.v1.ServiceAccountTokenProjection, 5 clusterTrustBundle m core.v1.ClusterTrustBundleProjection',
  'core.v1.VolumeResourceRequirements':
    '1 limits M map:api.resource.Quantity, 2 requests M map:api.resource.Quantity',
  'core.v1.VolumeSource':
    '1 hostPath m core.v1.HostPathVolumeSource, 2 emptyDir m core.v1.EmptyDirVolumeSource, 3 gcePersistentDisk m core.v1.GCEPersistentDiskVolumeSource, 4 awsElasticBlockStore m core.v1.AWSElasticBlockStoreVolumeSource, 5 gitRepo m core.v1.GitRepoVolumeSource, 6 secret m core.v1.SecretVolumeSource, 7 nfs m core.v1.NFSVolumeSource, 8 iscsi m core.v1.ISCSIVolumeSource, 9 glusterfs m core.v1.GlusterfsVolumeSource, 10 persistentVolumeClaim m core.v1.PersistentVolumeClaimVolumeSource, 11 rbd m core.v1.RBDVolumeSource, 12 flexVolume m core.v1.FlexVolumeSource, 13 cinder m core.v1.CinderVolumeSource, 14 cephfs m core.v1.CephFSVolumeSource, 15 flocker m core.v1.FlockerVolumeSource, 16 downwardAPI m core.v1.DownwardAPIVolumeSource, 17 fc m core.v1.FCVolumeSource, 18 azureFile m core.v1.AzureFileVolumeSource, 19 configMap m core.v1.ConfigMapVolumeSource, 20 vsphereVolume m core.v1.VsphereVirtualDiskVolumeSource, 21 quobyte m core.v1.QuobyteVolumeSource, 22 azureDisk m core.v1.AzureDiskVolumeSource, 23 photonPersistentDisk m core.v1.PhotonPersistentDiskVolumeSource, 26 projected m core.v1.ProjectedVolumeSource, 24 portworxVolume m core.v1.PortworxVolumeSource, 25 scaleIO m core.v1.ScaleIOVolumeSource, 27 storageos m core.v1.StorageOSVolumeSource, 28 csi m core.v1.CSIVolumeSource, 29 ephemeral m core.v1.EphemeralVolumeSource, 30 image m core.v1.ImageVolumeSource',
  'core.v1.VsphereVirtualDiskVolumeSource':
    '1 volumePath s, 2 fsType s, 3 storagePolicyName s, 4 storagePolicyID s',
  'core.v1.WeightedPodAffinityTerm': '1 weight i, 2 podAffinityTerm m core.v1.PodAffinityTerm',
  'core.v1.WindowsSecurityContextOptions':
    '1 gmsaCredentialSpecName s, 2 gmsaCredentialSpec s, 3 runAsUserName s, 4 hostProcess ?',
  'meta.Condition':
    '1 type s, 2 status s, 3 observedGeneration i, 4 lastTransitionTime m meta.Time, 5 reason s, 6 message s',
  'meta.LabelSelector':
    '1 matchLabels M map:s, 2 matchExpressions m* meta.LabelSelectorRequirement',
  'meta.LabelSelectorRequirement': '1 key s, 2 operator s, 3 values s*',
  'meta.ManagedFieldsEntry':
    '1 manager s, 2 operation s, 3 apiVersion s, 4 time m meta.Time, 6 fieldsType s, 7 fieldsV1 m meta.FieldsV1, 8 subresource s',
  'meta.ObjectMeta':
    '1 name s, 2 generateName s, 3 namespace s, 4 selfLink s, 5 uid s, 6 resourceVersion s, 7 generation i, 8 creationTimestamp m meta.Time, 9 deletionTimestamp m meta.Time, 10 deletionGracePeriodSeconds i, 11 labels M map:s, 12 annotations M map:s, 13 ownerReferences m* meta.OwnerReference, 14 finalizers s*, 17 managedFields m* meta.ManagedFieldsEntry',
  'meta.OwnerReference':
    '5 apiVersion s, 1 kind s, 3 name s, 4 uid s, 6 controller ?, 7 blockOwnerDeletion ?',
  'rbac.v1.AggregationRule': '1 clusterRoleSelectors m* meta.LabelSelector',
  'rbac.v1.ClusterRole':
    '1 metadata m meta.ObjectMeta, 2 rules m* rbac.v1.PolicyRule, 3 aggregationRule m rbac.v1.AggregationRule',
  'rbac.v1.ClusterRoleBinding':
    '1 metadata m meta.ObjectMeta, 2 subjects m* rbac.v1.Subject, 3 roleRef m rbac.v1.RoleRef',
  'rbac.v1.PolicyRule':
    '1 verbs s*, 2 apiGroups s*, 3 resources s*, 4 resourceNames s*, 5 nonResourceURLs s*',
  'rbac.v1.Role': '1 metadata m meta.ObjectMeta, 2 rules m* rbac.v1.PolicyRule',
  'rbac.v1.RoleBinding':
    '1 metadata m meta.ObjectMeta, 2 subjects m* rbac.v1.Subject, 3 roleRef m rbac.v1.RoleRef',
  'rbac.v1.RoleRef': '1 apiGroup s, 2 kind s, 3 name s',
  'rbac.v1.Subject': '1 kind s, 2 apiGroup s, 3 name s, 4 namespace s',
  'runtime.TypeMeta': '1 apiVersion s, 2 kind s',
  'runtime.Unknown': '1 typeMeta m runtime.TypeMeta, 2 raw b, 3 contentEncoding s, 4 contentType s',
  // Written by hand from k8s.io/api authorization/v1 generated.proto (kubectl auth
  // can-i sends it); ResourceAttributes' 1.31 selectors are left out.
  'authorization.v1.SelfSubjectAccessReview':
    '1 metadata m meta.ObjectMeta, 2 spec m authorization.v1.SelfSubjectAccessReviewSpec, 3 status m authorization.v1.SubjectAccessReviewStatus',
  'authorization.v1.SelfSubjectAccessReviewSpec':
    '1 resourceAttributes m authorization.v1.ResourceAttributes, 2 nonResourceAttributes m authorization.v1.NonResourceAttributes',
  'authorization.v1.ResourceAttributes':
    '1 namespace s, 2 verb s, 3 group s, 4 version s, 5 resource s, 6 subresource s, 7 name s',
  'authorization.v1.NonResourceAttributes': '1 path s, 2 verb s',
  'authorization.v1.SubjectAccessReviewStatus':
    '1 allowed ?, 2 reason s, 3 evaluationError s, 4 denied ?',
  'storage.v1.StorageClass':
    '1 metadata m meta.ObjectMeta, 2 provisioner s, 3 parameters M map:s, 4 reclaimPolicy s, 5 mountOptions s*, 6 allowVolumeExpansion ?, 7 volumeBindingMode s, 8 allowedTopologies m* core.v1.TopologySelectorTerm',
};
