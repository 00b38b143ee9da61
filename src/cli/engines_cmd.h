/* `hostel engines`: the engines on this host and what --engine auto picks. */
#ifndef HOSTEL_ENGINES_CMD_H
#define HOSTEL_ENGINES_CMD_H

int cmd_engines(int argc, char **argv);

#endif
