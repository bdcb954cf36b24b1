// The built-in secret catalog: credential files that workloads and people commonly hold.
#include "catalog/secret_catalog.h"

namespace credwatch {

SecretCatalog SecretCatalog::builtin() {
  // Scan globs may use ${KUBELET_ROOT}; the scanner substitutes the configured kubelet root.
  const std::vector<CatalogEntry> entries = {
      {0, "kubernetes-sa-token", "kubernetes_sa_token", {"**/secrets/kubernetes.io/serviceaccount/token"}, {},
       {"${KUBELET_ROOT}/pods/*/volumes/kubernetes.io~projected/*/token",
        "/var/run/secrets/kubernetes.io/serviceaccount/token"},
       "Kubernetes projected service-account token", true},
      {0, "eks-irsa-token", "aws_web_identity_token", {"**/secrets/eks.amazonaws.com/serviceaccount/token"}, {},
       {"${KUBELET_ROOT}/pods/*/volumes/kubernetes.io~projected/aws-iam-token/token"},
       "EKS IAM Roles for Service Accounts web-identity token", true},
      {0, "eks-pod-identity-token", "aws_pod_identity_token",
       {"**/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}, {},
       {"${KUBELET_ROOT}/pods/*/volumes/kubernetes.io~projected/*/eks-pod-identity-token"},
       "EKS Pod Identity token", true},
      {0, "azure-workload-identity-token", "azure_federated_token", {"**/secrets/azure/tokens/azure-identity-token"},
       {}, {"${KUBELET_ROOT}/pods/*/volumes/kubernetes.io~projected/*/azure-identity-token"},
       "Azure Workload Identity federated token", true},
      {0, "aws-credentials", "aws_credentials", {"~/.aws/credentials"}, {}, {}, "AWS shared credentials file", true},
      {0, "gcloud-credentials", "gcp_credentials",
       {"~/.config/gcloud/*credentials*.json", "~/.config/gcloud/*.db",
        "~/.config/gcloud/legacy_credentials/*/adc.json"},
       {}, {}, "Google Cloud SDK credentials and token databases", true},
      {0, "azure-token-cache", "azure_token_cache", {"~/.azure/*"}, {"azureProfile.json", "config", "*.log"}, {},
       "Azure CLI token caches and service-principal entries", true},
      {0, "docker-config", "docker_config", {"~/.docker/config.json"}, {}, {}, "Docker registry credentials", true},
      {0, "kubeconfig", "kubeconfig", {"~/.kube/config"}, {}, {}, "Kubernetes client configuration", true},
      {0, "kubernetes-node-kubeconfig", "kubeconfig", {"/etc/kubernetes/*.conf"}, {}, {},
       "kubeadm admin, kubelet, controller-manager and scheduler kubeconfigs", true},
      {0, "kubernetes-pki-key", "tls_private_key", {"/etc/kubernetes/pki/*.key", "/etc/kubernetes/pki/etcd/*.key"},
       {}, {}, "Kubernetes control-plane private keys", true},
      {0, "ssh-private-key", "ssh_private_key", {"~/.ssh/id_*"}, {"*.pub"}, {}, "SSH private keys", true},
      {0, "git-credentials", "git_credentials", {"~/.git-credentials"}, {}, {}, "git credential store", true},
      {0, "netrc", "netrc", {"~/.netrc"}, {}, {}, "netrc machine passwords", true},
      {0, "npmrc", "npm_token", {"~/.npmrc"}, {}, {}, "npm registry tokens", true},
      {0, "pypirc", "pypi_token", {"~/.pypirc"}, {}, {}, "PyPI upload credentials", true},
      {0, "vault-token", "vault_token", {"~/.vault-token"}, {}, {}, "HashiCorp Vault token", true},
      {0, "pgpass", "postgres_password", {"~/.pgpass"}, {}, {}, "PostgreSQL password file", true},
      {0, "shadow", "password_hashes", {"/etc/shadow", "/etc/gshadow"}, {}, {}, "local password hashes", true},
  };
  SecretCatalog catalog;
  for (const auto &e : entries) catalog.add(e);
  return catalog;
}

}  // namespace credwatch
