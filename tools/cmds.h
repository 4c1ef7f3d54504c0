/* SPDX-License-Identifier: MIT */
/* cmds.h - the netmem command's subcommands, one file each. */
#ifndef NM_TOOLS_CMDS_H
#define NM_TOOLS_CMDS_H
int cmd_rx(int argc, char **argv);          /* tools/rx.c */
int cmd_tx(int argc, char **argv);          /* tools/tx.c */
int cmd_probe(int argc, char **argv);       /* tools/probe.c */
int cmd_stat(int argc, char **argv);        /* tools/stat.c */
int cmd_bench_pool(int argc, char **argv);  /* bench/bench_pool.c */
int cmd_bench_rx(int argc, char **argv);    /* bench/bench_rx.c */
int cmd_bench_gpu(int argc, char **argv);   /* bench/bench_gpu.c */
int cmd_bench_pkt(int argc, char **argv);   /* bench/bench_pkt.c */
int cmd_soak(int argc, char **argv);        /* tools/soak.c */
#endif
