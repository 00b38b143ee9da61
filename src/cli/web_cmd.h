/* `hostel web`: the machine library in a browser (docs/display.md). */
#ifndef HOSTEL_WEB_CMD_H
#define HOSTEL_WEB_CMD_H

int cmd_web(int argc, char **argv);

#endif
