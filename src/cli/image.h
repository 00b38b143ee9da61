/* `hostel image`: create, inspect, check and convert disk images. */
#ifndef HOSTEL_CLI_IMAGE_H
#define HOSTEL_CLI_IMAGE_H

#include <stdio.h>

/* argv[0] is "image". Returns the process exit status. */
int cmd_image(int argc, char **argv);
void image_usage(FILE *f);

#endif
