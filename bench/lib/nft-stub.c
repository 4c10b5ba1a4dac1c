/* A libnftables.so.1 for kernels without nf_tables (the LUO guest's tinyconfig kernel):
 * CRIU 4.2 probes nftables at start (kerndat: "create table inet CRIU" in a child) and
 * the real library exits the process when the netlink socket cannot be opened, so criu
 * cannot start at all. Here every command fails as on a kernel that refuses the table:
 * criu records "no nftables" and goes on. Only network locking with nftables would need
 * it; the blackout's process has no sockets and criu locks with iptables by default. */
#include <stddef.h>
static int ctx;
void *nft_ctx_new(unsigned int flags) { (void)flags; return &ctx; }
void nft_ctx_free(void *c) { (void)c; }
int nft_run_cmd_from_buffer(void *c, const char *buf) { (void)c; (void)buf; return -1; }
int nft_ctx_buffer_output(void *c) { (void)c; return 0; }
int nft_ctx_buffer_error(void *c) { (void)c; return 0; }
void *nft_ctx_set_output(void *c, void *f) { (void)c; (void)f; return NULL; }
void *nft_ctx_set_error(void *c, void *f) { (void)c; (void)f; return NULL; }
const char *nft_ctx_get_error_buffer(void *c) { (void)c; return "nf_tables is not in this kernel"; }
