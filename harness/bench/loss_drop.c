/* make bench, the lossy case: a tc clsact (ingress) eBPF filter that drops each packet with
 * probability LOSS_PPM / 1e6, independently (random loss, no bursts). Built with
 * `clang -target bpf` by mk/bench.mk and attached by harness/bench/bench.py inside the network
 * namespaces it creates — never to another interface.
 *
 * Why not `tc qdisc ... netem loss 1%`: netem (1) is missing from some kernels (CONFIG_NET_SCH_NETEM)
 * and (2) sits at egress before UDP GSO segmentation, so it drops a whole GSO train (up to 64
 * datagrams) at once — the loss it makes depends on how each stack batches its sends. With the
 * veths' gso_max_segs set to 1, trains are segmented before they cross the veth and this filter,
 * at the receiving side's ingress, sees (and drops) single datagrams. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#ifndef LOSS_PPM
#define LOSS_PPM 10000 /* 1 % */
#endif

static unsigned int (*bpf_get_prandom_u32)(void) = (void *)BPF_FUNC_get_prandom_u32;

__attribute__((section("classifier"), used)) int vq_bench_loss(struct __sk_buff *skb)
{
  (void)skb;
  return bpf_get_prandom_u32() % 1000000u < LOSS_PPM ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
