/* `hostel appliance`: list, pack and import appliances. */
#ifndef HOSTEL_CLI_APPLIANCE_CMD_H
#define HOSTEL_CLI_APPLIANCE_CMD_H

/* argv[0] is "appliance"; returns the process exit status. */
int cmd_appliance(int argc, char **argv);

#endif
